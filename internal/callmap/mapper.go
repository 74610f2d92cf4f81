package callmap

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/pricing"
)

// Config is the mapping configuration. The processor and the exporter both
// embed it under the key `mapping`, so one block of YAML means the same
// thing in both places.
type Config struct {
	// DefaultEntity is the Weave entity used when a resource has no `wandb.entity`.
	DefaultEntity string `mapstructure:"default_entity"`
	// DefaultProject is the project used when a resource has no `wandb.project`;
	// empty means the resource's `service.name`, and "default" without one.
	DefaultProject string `mapstructure:"default_project"`
	// SummaryPrefix marks span attributes whose rest becomes a custom summary
	// key (`weave.summary.accuracy=0.95` → `summary.accuracy`).
	SummaryPrefix string `mapstructure:"summary_prefix"`
	// MaxValueBytes caps one attribute or event value; longer strings are
	// cut and marked (see the processor README). 0 means no limit.
	MaxValueBytes int `mapstructure:"max_value_bytes"`
	// Prices extends or overrides the built-in price table.
	Prices pricing.Config `mapstructure:"prices"`
}

// DefaultConfig returns the defaults documented in the processor README.
func DefaultConfig() Config {
	return Config{
		DefaultEntity: "callhouse",
		SummaryPrefix: "weave.summary.",
		MaxValueBytes: 1 << 20,
	}
}

// Validate reports every problem of the configuration.
func (c Config) Validate() error {
	return nil // TODO(callmap): implement
}

// Mapper maps spans to calls. It is safe for concurrent use.
type Mapper struct {
	cfg    Config
	prices *pricing.Table
}

// NewMapper builds a mapper, loading the price table the config names.
func NewMapper(cfg Config) (*Mapper, error) {
	prices, err := pricing.Load(cfg.Prices)
	if err != nil {
		return nil, err
	}
	return &Mapper{cfg: cfg, prices: prices}, nil
}

// Prices returns the price table the mapper computes costs with.
func (m *Mapper) Prices() *pricing.Table { return m.prices }

// Map maps one span, with its resource and scope, to a call: every per-span
// field of DESIGN §1–§4. Summary.Usage and Summary.Costs hold the span's own
// usage; StatusCounts count the call alone.
func (m *Mapper) Map(res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) Call {
	return Call{} // TODO(callmap): implement
}
