package integration

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// httpEndpoint is the shared server's HTTP interface. The authentication
// faults go through it: the embedded engine (chdb 26.7.3) aborts the whole
// server process when a native-protocol login fails, which a real server
// does not; over HTTP the same check answers with the same error codes.
func httpEndpoint() string { return "http://" + embeddedchtest.HTTPAddr() }

// TestFaults: each fault gives an error named after its cause; the ones a
// retry cannot fix are permanent, an unreachable server is retried.
func TestFaults(t *testing.T) {
	db := embeddedchtest.Database(t)
	cases := []struct {
		name      string
		configure func(*weaveclickhouseexporter.Config)
		permanent bool
		// startFails: the fault already fails Start when it creates the
		// schema (an unknown database is created there, so it does not).
		startFails bool
		want       []string
	}{
		{
			name: "wrong password",
			configure: func(c *weaveclickhouseexporter.Config) {
				c.Endpoint, c.Username, c.Password = httpEndpoint(), "default", "wrong"
			},
			permanent:  true,
			startFails: true,
			want:       []string{"authentication failed", "check username and password"},
		},
		{
			name: "unknown user",
			configure: func(c *weaveclickhouseexporter.Config) {
				c.Endpoint, c.Username, c.Password = httpEndpoint(), "nobody", "x"
			},
			permanent:  true,
			startFails: true,
			want:       []string{"authentication failed"},
		},
		{
			name:      "unknown database",
			configure: func(c *weaveclickhouseexporter.Config) { c.Database = "no_such_database" },
			permanent: true,
			want:      []string{"unknown database", "no_such_database"},
		},
		{
			name:       "unreachable host",
			configure:  func(c *weaveclickhouseexporter.Config) { c.Endpoint = "clickhouse://" + closedAddr(t) },
			permanent:  false,
			startFails: true,
			want:       []string{"connection refused"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.startFails {
				t.Run("at start, creating the schema", func(t *testing.T) {
					cfg := testConfig(db)
					tc.configure(cfg)
					exp, err := createExporter(cfg)
					require.NoError(t, err)
					err = exp.Start(context.Background(), componenttest.NewNopHost())
					require.Error(t, err)
					for _, w := range tc.want {
						assert.Contains(t, err.Error(), w)
					}
					require.NoError(t, exp.Shutdown(context.Background()))
				})
			}
			t.Run("on insert", func(t *testing.T) {
				cfg := testConfig(db)
				cfg.CreateSchema = false
				tc.configure(cfg)
				exp := startExporter(t, cfg, nil)
				err := exp.ConsumeTraces(context.Background(), annotatedTraces(record(1, 0, 1)))
				require.Error(t, err)
				assert.Equal(t, tc.permanent, consumererror.IsPermanent(err), "%v", err)
				for _, w := range tc.want {
					assert.Contains(t, err.Error(), w)
				}
			})
		})
	}
}

// TestTypeMismatchIsPermanent: a storage table that does not match the
// exporter (an operator's own table of the same name) is a permanent error
// that names the cause.
func TestTypeMismatchIsPermanent(t *testing.T) {
	db := embeddedchtest.Database(t)
	conn := connectShared(t)
	require.NoError(t, conn.Exec(context.Background(), "CREATE TABLE `"+db+"`.call_versions (project_id UInt64, trace_id String, id String) ENGINE = MergeTree ORDER BY id"))
	cfg := testConfig(db)
	cfg.CreateSchema = false
	exp := startExporter(t, cfg, nil)
	err := exp.ConsumeTraces(context.Background(), annotatedTraces(record(1, 0, 1)))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.Regexp(t, "schema mismatch|type mismatch", err.Error())
}
