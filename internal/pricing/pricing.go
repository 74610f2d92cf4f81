// Package pricing holds LLM token prices: a curated built-in table, files in
// LiteLLM's model_prices_and_context_window.json format, per-model overrides
// from config, and the lookup that finds a model as providers report it.
//
// The built-in table (builtin_prices.json) holds public list prices as best
// known when it was written, with the date each price took effect. Prices
// change; users correct or extend them with Config.File and Config.Overrides,
// which win over the built-in entries of the same model name. See README.md.
package pricing

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Levels say where a price came from (Price.Level), lowest precedence first.
const (
	LevelDefault = "default" // the built-in table
	LevelFile    = "file"    // Config.File
	LevelConfig  = "config"  // Config.Overrides
)

// Price is the list price of one model, in USD per token.
type Price struct {
	Model                   string
	Provider                string
	Mode                    string // LiteLLM's mode: "chat", "embedding", "completion", …; may be empty
	InputCostPerToken       float64
	OutputCostPerToken      float64
	CacheReadCostPerToken   float64 // 0 when the provider has no cache-read price
	CacheCreateCostPerToken float64 // 0 when the provider has no cache-write price
	EffectiveDate           string  // YYYY-MM-DD
	Level                   string  // where the price came from: "default", "file" or "config"
}

// Config extends or overrides the built-in table.
type Config struct {
	// File is a path to a price file in LiteLLM's
	// model_prices_and_context_window.json format; its entries override
	// the built-in ones of the same model name. Entries without an
	// effective_date take the file's modification date.
	File string `mapstructure:"file"`
	// Overrides are per-model prices that win over the file and the built-in
	// table, keyed by model name.
	Overrides map[string]Override `mapstructure:"overrides"`
}

// Override is one model's price in config, with LiteLLM's field names (USD per token).
type Override struct {
	// Provider is the provider's name, as LiteLLM's litellm_provider ("openai").
	Provider string `mapstructure:"litellm_provider"`
	// InputCostPerToken is the price of one prompt token.
	InputCostPerToken float64 `mapstructure:"input_cost_per_token"`
	// OutputCostPerToken is the price of one completion token.
	OutputCostPerToken float64 `mapstructure:"output_cost_per_token"`
	// CacheReadInputTokenCost is the price of one prompt token read from the cache.
	CacheReadInputTokenCost float64 `mapstructure:"cache_read_input_token_cost"`
	// CacheCreationInputTokenCost is the price of one prompt token written to the cache.
	CacheCreationInputTokenCost float64 `mapstructure:"cache_creation_input_token_cost"`
	// EffectiveDate (YYYY-MM-DD) is the day the price took effect; empty means
	// the day the config was loaded.
	EffectiveDate string `mapstructure:"effective_date"`
}

// Validate reports every problem of the config: a file that does not exist or
// is not a regular file, and overrides with an empty name, a negative or
// non-finite price or a malformed date. It does not read the file; Load
// reports a file's bad content, naming it.
func (cfg Config) Validate() error {
	var errs []error
	if cfg.File != "" {
		if st, err := os.Stat(cfg.File); err != nil {
			errs = append(errs, fmt.Errorf("prices.file: %w", err))
		} else if !st.Mode().IsRegular() {
			errs = append(errs, fmt.Errorf("prices.file: %s is not a regular file", cfg.File))
		}
	}
	for _, p := range cfg.overridePrices("") {
		if err := p.validate(); err != nil {
			errs = append(errs, fmt.Errorf("prices.overrides: %w", err))
		}
	}
	return errors.Join(errs...)
}

// overridePrices turns the overrides into prices, sorted by model; today is
// the effective date of overrides that carry none.
func (cfg Config) overridePrices(today string) []Price {
	prices := make([]Price, 0, len(cfg.Overrides))
	for model, o := range cfg.Overrides {
		p := Price{
			Model:                   model,
			Provider:                o.Provider,
			InputCostPerToken:       o.InputCostPerToken,
			OutputCostPerToken:      o.OutputCostPerToken,
			CacheReadCostPerToken:   o.CacheReadInputTokenCost,
			CacheCreateCostPerToken: o.CacheCreationInputTokenCost,
			EffectiveDate:           o.EffectiveDate,
			Level:                   LevelConfig,
		}
		if p.EffectiveDate == "" {
			p.EffectiveDate = today
		}
		prices = append(prices, p)
	}
	sort.Slice(prices, func(i, j int) bool { return prices[i].Model < prices[j].Model })
	return prices
}

//go:embed builtin_prices.json
var builtinJSON []byte

// builtinName names the embedded table in error messages.
const builtinName = "builtin_prices.json (built in)"

// Load builds the table: built-in prices, then the file, then the overrides;
// a later level replaces an earlier one's entry of the same model name.
func Load(cfg Config) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	builtin, _, err := parseLiteLLM(builtinName, builtinJSON, "", LevelDefault)
	if err != nil {
		return nil, err
	}
	levels := [][]Price{builtin}
	if cfg.File != "" {
		data, err := os.ReadFile(cfg.File)
		if err != nil {
			return nil, fmt.Errorf("price file %s: %w", cfg.File, err)
		}
		var fileDate string
		if st, err := os.Stat(cfg.File); err == nil {
			fileDate = st.ModTime().UTC().Format(time.DateOnly)
		}
		fromFile, _, err := parseLiteLLM(cfg.File, data, fileDate, LevelFile)
		if err != nil {
			return nil, err
		}
		levels = append(levels, fromFile)
	}
	levels = append(levels, cfg.overridePrices(time.Now().UTC().Format(time.DateOnly)))
	return newTable(levels...), nil
}

// maxCached bounds the lookup cache. Model names come from spans, that is
// from outside; a stream of distinct names must not grow memory without end.
const maxCached = 4096

// Table is a read-only set of prices. It is safe for concurrent use.
type Table struct {
	byModel map[string]Price
	// The indexes below map a form of a name to the model key it finds.
	byLower  map[string]string // lower-cased key
	byBase   map[string]string // lower-cased key without routing prefixes
	byFamily map[string]string // base name without version suffixes

	// cache maps a model name as looked up to its *cached result. A
	// sync.Map, not a mutex, because the hot path is concurrent reads of a
	// few names, where it neither locks nor allocates.
	cache  sync.Map
	cached atomic.Int64 // entries in cache, to bound it
}

type cached struct {
	price Price
	ok    bool
}

// newTable merges the levels (later ones win) and builds the indexes.
func newTable(levels ...[]Price) *Table {
	t := &Table{
		byModel:  map[string]Price{},
		byLower:  map[string]string{},
		byBase:   map[string]string{},
		byFamily: map[string]string{},
	}
	for _, level := range levels {
		for _, p := range level {
			t.byModel[p.Model] = p
		}
	}
	// Keys are visited in sorted order so that ties between names that fold
	// to the same form resolve the same way on every load.
	for _, p := range t.All() {
		lower := strings.ToLower(p.Model)
		base := baseName(lower)
		family := familyName(base)
		if _, dup := t.byLower[lower]; !dup {
			t.byLower[lower] = p.Model
		}
		// A key without a prefix is the provider's own name: it wins the base
		// form over hosted copies ("gpt-4o" over "azure/gpt-4o").
		if cur, dup := t.byBase[base]; !dup || (lower == base && strings.ToLower(cur) != base) {
			t.byBase[base] = p.Model
		}
		// For a family, the undated name wins; else the unprefixed one; else
		// the greatest key, which for dated snapshots is the newest.
		if cur, dup := t.byFamily[family]; !dup || familyRank(p.Model, family) >= familyRank(cur, family) {
			t.byFamily[family] = p.Model
		}
	}
	return t
}

func familyRank(model, family string) int {
	lower := strings.ToLower(model)
	switch {
	case lower == family:
		return 2
	case baseName(lower) == lower:
		return 1
	}
	return 0
}

// Lookup finds the price of a model as a provider reports it; see README.md
// for the rules. Results, misses included, are cached per name, so a repeated
// name costs one map read. A nil table knows no prices.
func (t *Table) Lookup(model string) (Price, bool) {
	if t == nil || model == "" {
		return Price{}, false
	}
	if c, hit := t.cache.Load(model); hit {
		return c.(*cached).price, c.(*cached).ok
	}
	key, ok := t.resolve(model)
	c := &cached{price: t.byModel[key], ok: ok}
	if t.cached.Load() >= maxCached {
		// The working set of models is small; a flood of distinct names
		// starts the cache over rather than growing it.
		t.cache.Clear()
		t.cached.Store(0)
	}
	if _, loaded := t.cache.LoadOrStore(model, c); !loaded {
		t.cached.Add(1)
	}
	return c.price, c.ok
}

// resolve finds the table key for model, most specific form first: the name
// as given, lower-cased, each routing prefix removed, then each version suffix
// removed, then the model family, then OpenRouter's dotted Claude names.
func (t *Table) resolve(model string) (string, bool) {
	if _, ok := t.byModel[model]; ok {
		return model, true
	}
	name := strings.ToLower(model)
	if key, ok := t.resolveLower(name); ok {
		return key, true
	}
	if dotted, ok := dottedClaude(baseName(name)); ok {
		return t.resolveLower(dotted)
	}
	return "", false
}

func (t *Table) resolveLower(name string) (string, bool) {
	for form, more := name, true; more; form, more = stripPrefix(form) {
		if key, ok := t.byLower[form]; ok {
			return key, true
		}
	}
	base := baseName(name)
	for form, more := base, true; more; form, more = stripSuffix(form) {
		if key, ok := t.byLower[form]; ok {
			return key, true
		}
		if key, ok := t.byBase[form]; ok {
			return key, true
		}
	}
	key, ok := t.byFamily[familyName(base)]
	return key, ok
}

// All returns every price in the table, sorted by model.
func (t *Table) All() []Price {
	if t == nil {
		return nil
	}
	prices := make([]Price, 0, len(t.byModel))
	for _, p := range t.byModel {
		prices = append(prices, p)
	}
	sort.Slice(prices, func(i, j int) bool { return prices[i].Model < prices[j].Model })
	return prices
}
