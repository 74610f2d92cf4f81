package weaveclickhouseexporter

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig()
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestLoadConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		cfg := loadConfig(t, "")
		assert.Equal(t, createDefaultConfig(), cfg)
		require.NoError(t, confmap.Validate(cfg))
		assert.Equal(t, "weave", cfg.Database)
		assert.Equal(t, "lz4", cfg.Compression)
		assert.True(t, cfg.CreateSchema)
		assert.True(t, cfg.TLS.Insecure, "plain connection unless asked")
		assert.True(t, cfg.QueueConfig.HasValue())
		assert.True(t, cfg.QueueConfig.Get().Batch.HasValue(), "batching is on: one INSERT per flushed batch")
		// The README's defaults.
		q := cfg.QueueConfig.Get()
		assert.Equal(t, int64(200_000), q.QueueSize)
		assert.Equal(t, 4, q.NumConsumers)
		b := q.Batch.Get()
		assert.Equal(t, 500*time.Millisecond, b.FlushTimeout)
		assert.Equal(t, int64(50_000), b.MinSize)
		assert.Equal(t, int64(100_000), b.MaxSize)
	})

	t.Run("full", func(t *testing.T) {
		cfg := loadConfig(t, "full")
		require.NoError(t, confmap.Validate(cfg))
		assert.Equal(t, "clickhouse://ch1:9000,ch2:9000?dial_timeout=5s", cfg.Endpoint)
		assert.Equal(t, "writer", cfg.Username)
		assert.Equal(t, configopaque.String("s3cret"), cfg.Password)
		assert.Equal(t, "observability", cfg.Database)
		assert.Equal(t, "llm_", cfg.TablePrefix)
		assert.False(t, cfg.TLS.Insecure)
		assert.Equal(t, "/etc/ssl/ch-ca.pem", cfg.TLS.CAFile)
		assert.Equal(t, "zstd", cfg.Compression)
		assert.Equal(t, 45*time.Second, cfg.Timeout)
		assert.False(t, cfg.CreateSchema)
		assert.Equal(t, 720*time.Hour, cfg.TTL)
		assert.Equal(t, "prod-eu", cfg.ClusterName)
		assert.Equal(t, "acme", cfg.Mapping.DefaultEntity)
		assert.Equal(t, "agents", cfg.Mapping.DefaultProject)
		assert.Equal(t, "weave.summary.", cfg.Mapping.SummaryPrefix, "defaults kept for keys not set")

		q := cfg.QueueConfig.Get()
		assert.Equal(t, int64(50000), q.QueueSize)
		assert.Equal(t, 2, q.NumConsumers)
		require.NotNil(t, q.StorageID)
		assert.Equal(t, "file_storage/weave", q.StorageID.String())
		b := q.Batch.Get()
		assert.Equal(t, 5*time.Second, b.FlushTimeout)
		assert.Equal(t, int64(5000), b.MinSize)
		assert.Equal(t, int64(20000), b.MaxSize)

		assert.True(t, cfg.BackOffConfig.Enabled)
		assert.Equal(t, time.Second, cfg.BackOffConfig.InitialInterval)
		assert.Equal(t, 10*time.Minute, cfg.BackOffConfig.MaxElapsedTime)
	})

	t.Run("queue and retry off", func(t *testing.T) {
		cfg := loadConfig(t, "noqueue")
		require.NoError(t, confmap.Validate(cfg))
		assert.False(t, cfg.QueueConfig.HasValue())
		assert.False(t, cfg.BackOffConfig.Enabled)
	})

	t.Run("hosts and https", func(t *testing.T) {
		for _, name := range []string{"hosts", "http"} {
			require.NoError(t, confmap.Validate(loadConfig(t, name)), name)
		}
	})
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	cases := []struct {
		name string
		want []string
	}{
		{"injection", []string{
			`database "weave; DROP TABLE x" is not a valid identifier`,
			"table_prefix", "cluster_name",
		}},
		{"bad", []string{`scheme "ftp"`, `compression: "gzip"`, "ttl: -1h0m0s is negative"}},
		{"badhosts", []string{"neither a DSN"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConfig(t, tc.name)
			before := *cfg
			err := confmap.Validate(cfg)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Equal(t, before, *cfg, "Validate must not change the config")
		})
	}
}

func TestValidateQueueAndRetry(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.QueueConfig = configoptional.Some(exporterhelper.NewDefaultQueueConfig())
	cfg.QueueConfig.Get().QueueSize = 0
	cfg.Endpoint = ""
	err := confmap.Validate(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "endpoint: must be set")
	assert.Contains(t, err.Error(), "queue_size")
}

// TestREADMEConfig: the configuration example of the README loads and
// validates.
func TestREADMEConfig(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "README.md has a yaml example")
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, m[1], 0o600))
	cm, err := confmaptest.LoadConf(path)
	require.NoError(t, err)
	sub, err := cm.Sub("exporters::weaveclickhouse")
	require.NoError(t, err)
	cfg := createDefaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "file_storage/weave", cfg.QueueConfig.Get().StorageID.String())
}
