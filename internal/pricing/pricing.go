// Package pricing holds LLM token prices: a curated built-in table, files in
// LiteLLM's model_prices_and_context_window.json format, per-model overrides
// from config, and the lookup that finds a model as providers report it.
package pricing

// Price is the list price of one model, in USD per token.
type Price struct {
	Model                   string
	Provider                string
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
	// the built-in ones.
	File string `mapstructure:"file"`
	// Overrides are per-model prices that win over the file and the built-in table.
	Overrides map[string]Override `mapstructure:"overrides"`
}

// Override is one model's price in config, with LiteLLM's field names (USD per token).
type Override struct {
	Provider                    string  `mapstructure:"litellm_provider"`
	InputCostPerToken           float64 `mapstructure:"input_cost_per_token"`
	OutputCostPerToken          float64 `mapstructure:"output_cost_per_token"`
	CacheReadInputTokenCost     float64 `mapstructure:"cache_read_input_token_cost"`
	CacheCreationInputTokenCost float64 `mapstructure:"cache_creation_input_token_cost"`
}

// Table is a read-only set of prices. It is safe for concurrent use.
type Table struct {
	byModel map[string]Price
}

// Load builds the table: built-in prices, then the file, then the overrides.
func Load(cfg Config) (*Table, error) {
	return &Table{byModel: map[string]Price{}}, nil // TODO(pricing): implement
}

// Lookup finds the price of a model as a provider reports it.
func (t *Table) Lookup(model string) (Price, bool) {
	p, ok := t.byModel[model] // TODO(pricing): normalization
	return p, ok
}

// All returns every price in the table, sorted by model.
func (t *Table) All() []Price {
	return nil // TODO(pricing): implement
}
