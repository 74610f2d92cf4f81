package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter/internal/schema"
	"github.com/callhouse/callhouse/internal/callmap"
)

// Config is the configuration of the weaveclickhouse exporter. README.md
// documents every option with its default.
type Config struct {
	// Endpoint is where ClickHouse listens: a DSN
	// (clickhouse://host:9000?dial_timeout=5s, tcp://host:9000,
	// http://host:8123, https://host:8443) or a comma-separated list of
	// native host:port addresses.
	Endpoint string `mapstructure:"endpoint"`
	// Username and Password authenticate; when set they override the
	// DSN's. No user at all means ClickHouse's `default` user.
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	// Database holds the tables and views (default "weave").
	Database string `mapstructure:"database"`
	// TablePrefix is put in front of every table and view name.
	TablePrefix string `mapstructure:"table_prefix"`
	// TLS configures a TLS connection; `insecure: true` (the default) is a
	// plain connection unless the endpoint asks for TLS (https://, secure=true).
	TLS configtls.ClientConfig `mapstructure:"tls"`
	// Compression of the data sent: lz4 (default), zstd or none.
	Compression string `mapstructure:"compression"`
	// CreateSchema creates the database, tables and views at start and
	// applies new migrations (default true).
	CreateSchema bool `mapstructure:"create_schema"`
	// TTL drops calls this long after they started; 0 keeps them forever.
	TTL time.Duration `mapstructure:"ttl"`
	// ClusterName, when set, creates the schema ON CLUSTER with Replicated
	// engines and writes and reads through a Distributed table.
	ClusterName string `mapstructure:"cluster_name"`
	// Mapping maps spans the weavecall processor did not annotate; the same
	// block as the processor's `mapping`.
	Mapping callmap.Config `mapstructure:"mapping"`

	// Timeout bounds one insert attempt (default 30s).
	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	// QueueConfig is the sending queue: batching into one INSERT per flush,
	// and optionally a persistent `storage` extension.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// BackOffConfig retries transient errors with exponential backoff.
	BackOffConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`
}

// Compression values.
const (
	compressionLZ4  = "lz4"
	compressionZSTD = "zstd"
	compressionNone = "none"
)

func createDefaultConfig() *Config {
	tls := configtls.NewDefaultClientConfig()
	tls.Insecure = true

	timeout := exporterhelper.NewDefaultTimeoutConfig()
	// Above a loaded server's time for a 100k-call INSERT: a timed-out
	// INSERT that still lands is written again by the retry (harmless, but work).
	timeout.Timeout = 30 * time.Second

	queue := exporterhelper.NewDefaultQueueConfig()
	queue.Sizer = exporterhelper.RequestSizerTypeItems
	queue.QueueSize = 200_000
	queue.NumConsumers = 4
	batch := exporterhelper.NewDefaultBatchConfig()
	batch.Sizer = exporterhelper.RequestSizerTypeItems
	// Every INSERT is a part the server writes and merges again, so under
	// load fewer, larger INSERTs cost it far less per call (50,000 against
	// 10,000 calls: about half the server's CPU, README "Batch size,
	// latency and ClickHouse's CPU"); below 100,000 calls/s the half-second
	// flush sets the pace instead, two INSERTs a second at most per
	// collector.
	batch.FlushTimeout = 500 * time.Millisecond
	batch.MinSize = 50_000
	batch.MaxSize = 100_000
	queue.Batch = configoptional.Some(batch)

	return &Config{
		Endpoint:      "clickhouse://127.0.0.1:9000",
		Database:      "weave",
		TLS:           tls,
		Compression:   compressionLZ4,
		CreateSchema:  true,
		Mapping:       callmap.DefaultConfig(),
		TimeoutConfig: timeout,
		QueueConfig:   configoptional.Some(queue),
		BackOffConfig: configretry.NewDefaultBackOffConfig(),
	}
}

// Validate reports every problem of the configuration. Nested blocks
// (tls, mapping, sending_queue, retry_on_failure, timeout) validate
// themselves when the collector loads the config.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: must be set"))
	} else if _, err := parseEndpoint(cfg.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("endpoint: %w", err))
	}
	switch cfg.Compression {
	case compressionLZ4, compressionZSTD, compressionNone:
	default:
		errs = append(errs, fmt.Errorf("compression: %q is not one of lz4, zstd, none", cfg.Compression))
	}
	errs = append(errs, cfg.schemaOptions().Validate())
	return errors.Join(errs...)
}

// consumers is how many INSERTs can run at once: the sending queue's
// consumers, or one without a queue.
func (cfg *Config) consumers() int {
	if !cfg.QueueConfig.HasValue() {
		return 1
	}
	return cfg.QueueConfig.Get().NumConsumers
}

// schemaOptions names where the schema lives.
func (cfg *Config) schemaOptions() schema.Options {
	return schema.Options{
		Database:    cfg.Database,
		TablePrefix: cfg.TablePrefix,
		Cluster:     cfg.ClusterName,
		TTL:         cfg.TTL,
	}
}
