package pricing

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// sampleSpec is the documentation entry at the top of LiteLLM's file; it
// describes the fields and is not a model.
const sampleSpec = "sample_spec"

// liteLLMEntry is the part of one LiteLLM entry that prices tokens. Pointers
// tell "absent" from "0" (a free model is a price; a missing field is not).
// Every other field of the format (context windows, capabilities, per-image
// or per-second prices) is ignored.
type liteLLMEntry struct {
	InputCostPerToken           *float64 `json:"input_cost_per_token"`
	OutputCostPerToken          *float64 `json:"output_cost_per_token"`
	CacheReadInputTokenCost     *float64 `json:"cache_read_input_token_cost"`
	CacheCreationInputTokenCost *float64 `json:"cache_creation_input_token_cost"`
	Provider                    string   `json:"litellm_provider"`
	Mode                        string   `json:"mode"`
	// EffectiveDate is callhouse's addition to the format (YYYY-MM-DD, the
	// day the price took effect); LiteLLM's own tools ignore it.
	EffectiveDate string `json:"effective_date"`
}

// parseLiteLLM reads a file in LiteLLM's model_prices_and_context_window.json
// format: one object, model name → entry. name is the file's name for error
// messages; defaultDate is the effective date of entries that carry none.
//
// Treatment of what is not a token price, all by design:
//   - "sample_spec" is skipped;
//   - entries with neither input_cost_per_token nor output_cost_per_token are
//     skipped (image, audio and per-second models, or placeholders); the
//     returned count says how many;
//   - an entry that is not an object, a price that is not a number, or a
//     negative or non-finite price is an error naming the file and the model,
//     because a wrong price silently mis-costs every call of that model.
func parseLiteLLM(name string, data []byte, defaultDate, level string) (prices []Price, skipped int, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, 0, fmt.Errorf("price file %s: not a LiteLLM price object: %w", name, err)
	}
	if raw == nil { // the JSON literal null
		return nil, 0, fmt.Errorf("price file %s: not a LiteLLM price object: null", name)
	}
	models := make([]string, 0, len(raw))
	for model := range raw {
		models = append(models, model)
	}
	sort.Strings(models) // errors in a stable order
	var errs []error
	for _, model := range models {
		if model == sampleSpec {
			continue
		}
		var e liteLLMEntry
		if err := json.Unmarshal(raw[model], &e); err != nil {
			errs = append(errs, fmt.Errorf("model %q: %w", model, err))
			continue
		}
		if e.InputCostPerToken == nil && e.OutputCostPerToken == nil {
			skipped++
			continue
		}
		p := Price{
			Model:                   model,
			Provider:                e.Provider,
			Mode:                    e.Mode,
			InputCostPerToken:       deref(e.InputCostPerToken),
			OutputCostPerToken:      deref(e.OutputCostPerToken),
			CacheReadCostPerToken:   deref(e.CacheReadInputTokenCost),
			CacheCreateCostPerToken: deref(e.CacheCreationInputTokenCost),
			EffectiveDate:           e.EffectiveDate,
			Level:                   level,
		}
		if p.EffectiveDate == "" {
			p.EffectiveDate = defaultDate
		}
		if err := p.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		prices = append(prices, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, 0, fmt.Errorf("price file %s: %w", name, err)
	}
	return prices, skipped, nil
}

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

// validate reports every problem of one price: an empty model name, negative
// or non-finite prices, a malformed effective date.
func (p Price) validate() error {
	var errs []error
	if p.Model == "" {
		errs = append(errs, errors.New("empty model name"))
	}
	for _, c := range []struct {
		field string
		v     float64
	}{
		{"input_cost_per_token", p.InputCostPerToken},
		{"output_cost_per_token", p.OutputCostPerToken},
		{"cache_read_input_token_cost", p.CacheReadCostPerToken},
		{"cache_creation_input_token_cost", p.CacheCreateCostPerToken},
	} {
		if c.v < 0 || math.IsNaN(c.v) || math.IsInf(c.v, 0) {
			errs = append(errs, fmt.Errorf("model %q: %s must be a finite number >= 0, got %v", p.Model, c.field, c.v))
		}
	}
	if p.EffectiveDate != "" {
		if _, err := time.Parse(time.DateOnly, p.EffectiveDate); err != nil {
			errs = append(errs, fmt.Errorf("model %q: effective_date %q is not YYYY-MM-DD", p.Model, p.EffectiveDate))
		}
	}
	return errors.Join(errs...)
}
