package weavecallprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/processor/weavecallprocessor/internal/metadata"
)

// Defaults of the options, as documented in README.md.
const (
	defaultIdleTimeout         = 5 * time.Second
	defaultMaxWait             = 30 * time.Second
	defaultMaxBufferedSpans    = 500_000
	defaultMaxBufferedBytes    = 512 << 20
	defaultReleasedCacheTraces = 10_000
	defaultReleasedCacheBytes  = 128 << 20
)

// NewFactory returns the factory of the weavecall processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		GroupByTrace:        true,
		IdleTimeout:         defaultIdleTimeout,
		MaxWait:             defaultMaxWait,
		MaxBufferedSpans:    defaultMaxBufferedSpans,
		MaxBufferedBytes:    defaultMaxBufferedBytes,
		ReleasedCacheTraces: defaultReleasedCacheTraces,
		ReleasedCacheBytes:  defaultReleasedCacheBytes,
		Mapping:             callmap.DefaultConfig(),
	}
}

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	return newProcessor(set, cfg.(*Config), next)
}
