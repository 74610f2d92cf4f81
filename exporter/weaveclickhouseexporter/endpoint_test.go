package weaveclickhouseexporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEndpoint(t *testing.T) {
	cases := []struct {
		endpoint string
		addrs    []string
		protocol clickhouse.Protocol
		tls      bool
		wantErr  string
	}{
		{endpoint: "clickhouse://127.0.0.1:9000", addrs: []string{"127.0.0.1:9000"}},
		{endpoint: "tcp://a:9000,b:9000?dial_timeout=2s", addrs: []string{"a:9000", "b:9000"}},
		{endpoint: "clickhouse://ch:9440?secure=true", addrs: []string{"ch:9440"}, tls: true},
		{endpoint: "http://ch:8123", addrs: []string{"ch:8123"}, protocol: clickhouse.HTTP},
		{endpoint: "https://ch:8443", addrs: []string{"ch:8443"}, protocol: clickhouse.HTTP, tls: true},
		{endpoint: "a:9000, b:9001", addrs: []string{"a:9000", "b:9001"}},
		{endpoint: "[::1]:9000", addrs: []string{"[::1]:9000"}},
		{endpoint: "ftp://x:1", wantErr: `scheme "ftp"`},
		{endpoint: "justahost", wantErr: "neither a DSN"},
		{endpoint: "a:9000,", wantErr: "neither a DSN"},
		{endpoint: "clickhouse://", wantErr: "not a valid DSN"},
		{endpoint: "clickhouse://u:pa%zzss@h:9000", wantErr: "not a valid DSN"},
	}
	for _, tc := range cases {
		t.Run(tc.endpoint, func(t *testing.T) {
			opts, err := parseEndpoint(tc.endpoint)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "pa%zzss", "a password never shows in an error")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.addrs, opts.Addr)
			assert.Equal(t, tc.protocol, opts.Protocol)
			assert.Equal(t, tc.tls, opts.TLS != nil)
		})
	}
}

func TestClickhouseOptionsExplicitOptionsWin(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Endpoint = "clickhouse://dsnuser:dsnpass@h:9000/dsndb"
	cfg.Username = "writer"
	cfg.Password = "pw"
	cfg.Compression = "zstd"
	cfg.Timeout = 3 * time.Second
	opts, err := cfg.clickhouseOptions(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "writer", opts.Auth.Username)
	assert.Equal(t, "pw", opts.Auth.Password)
	assert.Empty(t, opts.Auth.Database, "tables are qualified; the session database must not need to exist")
	assert.Equal(t, clickhouse.CompressionZSTD, opts.Compression.Method)
	assert.Equal(t, 3*time.Second, opts.DialTimeout)
	assert.Nil(t, opts.TLS)

	cfg = createDefaultConfig()
	cfg.Endpoint = "clickhouse://dsnuser:dsnpass@h:9000"
	cfg.TLS.Insecure = false
	opts, err = cfg.clickhouseOptions(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "dsnuser", opts.Auth.Username, "the DSN's user when username is not set")
	assert.NotNil(t, opts.TLS, "tls.insecure: false turns TLS on")
	assert.Equal(t, clickhouse.CompressionLZ4, opts.Compression.Method)
}

// TestClickhouseOptionsTimeouts: the DSN's dial_timeout and read_timeout
// apply as the README says; without them the exporter's timeout sets both
// (dialling capped at 10s).
func TestClickhouseOptionsTimeouts(t *testing.T) {
	cases := []struct {
		endpoint   string
		timeout    time.Duration
		dial, read time.Duration
	}{
		{"clickhouse://h:9000", 30 * time.Second, 10 * time.Second, 30 * time.Second},
		{"clickhouse://h:9000", 3 * time.Second, 3 * time.Second, 3 * time.Second},
		{"clickhouse://h:9000?dial_timeout=1s", 30 * time.Second, time.Second, 30 * time.Second},
		{"clickhouse://h:9000?read_timeout=5s", 30 * time.Second, 10 * time.Second, 5 * time.Second},
		{"clickhouse://h:9000?dial_timeout=1s&read_timeout=5s", 0, time.Second, 5 * time.Second},
		{"clickhouse://h:9000", 0, 0, 0}, // the drivers' own defaults
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s timeout=%s", tc.endpoint, tc.timeout), func(t *testing.T) {
			cfg := createDefaultConfig()
			cfg.Endpoint = tc.endpoint
			cfg.Timeout = tc.timeout
			opts, err := cfg.clickhouseOptions(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tc.dial, opts.DialTimeout, "dial")
			assert.Equal(t, tc.read, opts.ReadTimeout, "read")
		})
	}
}
