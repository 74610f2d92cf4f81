package weavecallprocessor

import (
	"errors"
	"fmt"
	"time"

	"github.com/callhouse/callhouse/internal/callmap"
)

// Config is the configuration of the weavecall processor. Every option and
// its default is documented in README.md.
type Config struct {
	// GroupByTrace buffers the spans of each trace to derive trace-level
	// fields (roll-ups, descendant_error, thread and turn ids). false maps
	// and annotates each span on its own as it passes, with no buffering.
	GroupByTrace bool `mapstructure:"group_by_trace"`

	// IdleTimeout releases a trace once its root span has ended and no span
	// of it came for this long.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`

	// MaxWait releases a trace this long after its first span arrived,
	// whether or not its root came (orphans, long-running traces).
	MaxWait time.Duration `mapstructure:"max_wait"`

	// MaxBufferedSpans caps the spans held across all traces; above it the
	// oldest traces are released early.
	MaxBufferedSpans int64 `mapstructure:"max_buffered_spans"`

	// MaxBufferedBytes caps the estimated bytes held across all traces
	// (the heap their spans and mapped calls take); above it the oldest
	// traces are released early.
	MaxBufferedBytes int64 `mapstructure:"max_buffered_bytes"`

	// ReleasedCacheTraces is how many recently released traces are kept so
	// a late span can update its ancestors' roll-ups. 0 disables the cache:
	// late spans then start a new group of their own, and calls are
	// annotated without their inputs, output and attributes (the exporter
	// maps those from the span).
	ReleasedCacheTraces int `mapstructure:"released_cache_traces"`

	// ReleasedCacheBytes caps the estimated bytes of that cache; the least
	// recently used traces are forgotten first. 0 disables it too.
	ReleasedCacheBytes int64 `mapstructure:"released_cache_bytes"`

	// Shards is the number of independently locked partitions of the buffer
	// (by trace id). 0 means GOMAXPROCS.
	Shards int `mapstructure:"shards"`

	// Mapping is the span-to-call mapping, shared with the weaveclickhouse
	// exporter.
	Mapping callmap.Config `mapstructure:"mapping"`
}

// maxShards bounds Shards: more shards than this only costs memory.
const maxShards = 1024

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if c.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("idle_timeout must not be negative, got %s", c.IdleTimeout))
	}
	if c.MaxWait <= 0 {
		errs = append(errs, fmt.Errorf("max_wait must be positive, got %s", c.MaxWait))
	} else if c.IdleTimeout > c.MaxWait {
		errs = append(errs, fmt.Errorf("idle_timeout (%s) must not exceed max_wait (%s)", c.IdleTimeout, c.MaxWait))
	}
	if c.MaxBufferedSpans <= 0 {
		errs = append(errs, fmt.Errorf("max_buffered_spans must be positive, got %d", c.MaxBufferedSpans))
	}
	if c.MaxBufferedBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_buffered_bytes must be positive, got %d", c.MaxBufferedBytes))
	}
	if c.ReleasedCacheTraces < 0 {
		errs = append(errs, fmt.Errorf("released_cache_traces must not be negative, got %d", c.ReleasedCacheTraces))
	}
	if c.ReleasedCacheBytes < 0 {
		errs = append(errs, fmt.Errorf("released_cache_bytes must not be negative, got %d", c.ReleasedCacheBytes))
	}
	if c.Shards < 0 || c.Shards > maxShards {
		errs = append(errs, fmt.Errorf("shards must be between 0 (GOMAXPROCS) and %d, got %d", maxShards, c.Shards))
	}
	if err := c.Mapping.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("mapping: %w", err))
	}
	return errors.Join(errs...)
}
