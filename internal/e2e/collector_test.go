package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"text/template"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
	"github.com/callhouse/callhouse/internal/localstack"
)

// overlay is merged over config/callhouse.yaml: quick releases and flushes
// so tests see calls within about a second, no metrics port, with a queue
// directory the persistent sending queue, and optionally weavecall without
// its cache of released traces (its annotation then leaves the calls'
// texts to the exporter).
var overlay = template.Must(template.New("overlay").Parse(`
processors:
  weavecall:
    idle_timeout: 200ms
    max_wait: 5s
{{- if .NoReleasedCache}}
    released_cache_traces: 0
{{- end}}
exporters:
  weaveclickhouse:
    sending_queue:
      batch:
        flush_timeout: 200ms
{{- if .QueueDir}}
      storage: file_storage/queue
extensions:
  file_storage/queue:
    directory: {{.QueueDir}}
{{- end}}
service:
{{- if .QueueDir}}
  extensions: [health_check, file_storage/queue]
{{- end}}
  telemetry:
    metrics:
      level: none
`))

// collector is a running otelcol-callhouse writing to its own database.
type collector struct {
	t        *testing.T
	spec     localstack.Collector
	ep       localstack.Endpoints
	database string
	log      *syncWriter
	proc     *localstack.Process
}

// collectorOptions vary the overlay.
type collectorOptions struct {
	// persistentQueue keeps the sending queue on disk (file_storage).
	persistentQueue bool
	// clickhouse is the native address to write to, if not the embedded
	// server's own (a proxy in front of it).
	clickhouse string
	// noReleasedCache runs weavecall with released_cache_traces: 0.
	noReleasedCache bool
}

// startCollector starts a collector for t on free ports, writing to a
// fresh database of the embedded ClickHouse; it is stopped when t ends and
// its log is shown if t failed.
func startCollector(t *testing.T, opts collectorOptions) *collector {
	t.Helper()
	ep, err := localstack.FreeEndpoints()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	vars := struct {
		QueueDir        string
		NoReleasedCache bool
	}{NoReleasedCache: opts.noReleasedCache}
	if opts.persistentQueue {
		vars.QueueDir = filepath.Join(dir, "queue")
		if err := os.Mkdir(vars.QueueDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var ov bytes.Buffer
	if err := overlay.Execute(&ov, vars); err != nil {
		t.Fatal(err)
	}
	ovPath := filepath.Join(dir, "overlay.yaml")
	if err := os.WriteFile(ovPath, ov.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &collector{t: t, ep: ep, database: embeddedchtest.Database(t), log: &syncWriter{}}
	chAddr := embeddedchtest.Addr()
	if opts.clickhouse != "" {
		chAddr = opts.clickhouse
	}
	env := ep.Env(chAddr, c.database)
	if user := os.Getenv(embeddedchtest.EnvUser); user != "" {
		env = append(env, "CALLHOUSE_CLICKHOUSE_USERNAME="+user, "CALLHOUSE_CLICKHOUSE_PASSWORD="+os.Getenv(embeddedchtest.EnvPassword))
	}
	c.spec = localstack.Collector{
		Binary:   collectorBinary,
		Config:   filepath.Join(repoRoot, "config", "callhouse.yaml"),
		Overlays: []string{ovPath},
		Env:      env,
		Health:   ep.Health,
		Out:      c.log,
	}
	c.start()
	t.Cleanup(func() {
		if c.proc != nil {
			if err := c.proc.Stop(localstack.StopTimeout); err != nil {
				t.Errorf("stopping the collector: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("collector log:\n%s", c.log.String())
		}
	})
	return c
}

func (c *collector) start() {
	c.t.Helper()
	p, err := c.spec.Start(context.Background())
	if err != nil {
		c.t.Fatalf("%v\ncollector log:\n%s", err, c.log.String())
	}
	c.proc = p
}

// stop stops the collector cleanly.
func (c *collector) stop() {
	c.t.Helper()
	if err := c.proc.Stop(localstack.StopTimeout); err != nil {
		c.t.Fatalf("stopping the collector: %v", err)
	}
	c.proc = nil
}

// syncWriter holds the collector's log; its stdout and stderr write
// concurrently with a test reading it.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// clickhouseConn is a native connection to the embedded ClickHouse.
func clickhouseConn(t *testing.T) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(embeddedchtest.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
