package weavecallprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/processor/weavecallprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	custom := createDefaultConfig().(*Config)
	custom.IdleTimeout = 2 * time.Second
	custom.MaxWait = time.Minute
	custom.MaxBufferedSpans = 100_000
	custom.MaxBufferedBytes = 64 << 20
	custom.ReleasedCacheTraces = 500
	custom.ReleasedCacheBytes = 16 << 20
	custom.Shards = 4
	custom.Mapping = callmap.Config{DefaultEntity: "acme", DefaultProject: "agents", SummaryPrefix: "app.summary.", MaxValueBytes: 65536}

	ungrouped := createDefaultConfig().(*Config)
	ungrouped.GroupByTrace = false

	tests := []struct {
		name    string
		want    *Config
		wantErr []string
	}{
		{name: "", want: createDefaultConfig().(*Config)},
		{name: "custom", want: custom},
		{name: "ungrouped", want: ungrouped},
		{name: "invalid", wantErr: []string{
			"idle_timeout (2m0s) must not exceed max_wait (1m0s)",
			"max_buffered_spans must be positive, got 0",
			"max_buffered_bytes must be positive, got -1",
			"released_cache_traces must not be negative, got -1",
			"released_cache_bytes must not be negative, got -5",
			"shards must be between 0 (GOMAXPROCS) and 1024, got 5000",
		}},
	}
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run("weavecall/"+tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, cfg)
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

func TestValidateDoesNotMutate(t *testing.T) {
	cfg := &Config{IdleTimeout: -time.Second, MaxWait: 0}
	before := *cfg
	err := cfg.Validate()
	require.Error(t, err)
	assert.ErrorContains(t, err, "idle_timeout must not be negative")
	assert.ErrorContains(t, err, "max_wait must be positive")
	assert.Equal(t, before, *cfg)
}
