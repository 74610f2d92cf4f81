package localstack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// launcher writes a stand-in for clickhouse-embedded: a shell script.
func launcher(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "launcher")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClickHouseStartStop(t *testing.T) {
	tests := []struct {
		name         string
		script       string
		wantStartErr string
		stopTimeout  time.Duration
		wantStopErr  string
	}{
		{
			name:        "ready line, stops on SIGTERM",
			script:      "echo loading; echo 'ready tcp=127.0.0.1:1 http=127.0.0.1:2'; exec sleep 60",
			stopTimeout: 10 * time.Second,
		},
		{
			name:         "exits before the ready line",
			script:       "echo 'port in use' >&2; exit 3",
			wantStartErr: "clickhouse exited before it was ready: exit status 3",
		},
		{
			name:         "a line that only looks ready",
			script:       "echo 'not ready yet'; exit 0",
			wantStartErr: "exited before it was ready",
		},
		{
			name:        "ignores SIGTERM and is killed",
			script:      "trap '' TERM; echo 'ready tcp=a http=b'; while :; do sleep 0.1; done",
			stopTimeout: 300 * time.Millisecond,
			wantStopErr: "did not stop within 300ms and was killed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			ch := ClickHouse{Launcher: launcher(t, tt.script), Path: t.TempDir(), TCPPort: 1, HTTPPort: 2, Out: &syncBuilder{b: &out}}
			p, err := ch.Start(context.Background())
			if tt.wantStartErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantStartErr) {
					t.Fatalf("Start: got %v, want an error with %q", err, tt.wantStartErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			err = p.Stop(tt.stopTimeout)
			if tt.wantStopErr == "" && err != nil {
				t.Errorf("Stop: %v", err)
			}
			if tt.wantStopErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantStopErr)) {
				t.Errorf("Stop: got %v, want an error with %q", err, tt.wantStopErr)
			}
		})
	}
}

func TestStartInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ch := ClickHouse{Launcher: launcher(t, "exec sleep 60"), Path: t.TempDir(), TCPPort: 1, HTTPPort: 2, Out: &syncBuilder{b: &strings.Builder{}}}
	if _, err := ch.Start(ctx); err == nil || !strings.Contains(err.Error(), "start of clickhouse interrupted") {
		t.Fatalf("got %v, want an interrupted start", err)
	}
}

func TestEndpointsEnv(t *testing.T) {
	ep := Endpoints{OTLPGRPC: "127.0.0.1:1", OTLPHTTP: "127.0.0.1:2", Health: "127.0.0.1:3", MetricsPort: 4}
	got := strings.Join(ep.Env("127.0.0.1:9000", "weave_test"), " ")
	want := "CALLHOUSE_OTLP_GRPC_ENDPOINT=127.0.0.1:1 CALLHOUSE_OTLP_HTTP_ENDPOINT=127.0.0.1:2 CALLHOUSE_HEALTH_ENDPOINT=127.0.0.1:3 " +
		"CALLHOUSE_METRICS_PORT=4 CALLHOUSE_CLICKHOUSE_ENDPOINT=tcp://127.0.0.1:9000 CALLHOUSE_CLICKHOUSE_DATABASE=weave_test"
	if got != want {
		t.Errorf("Env:\n got %s\nwant %s", got, want)
	}
}

// syncBuilder is a strings.Builder safe for the concurrent writes of a
// child's stdout and stderr.
type syncBuilder struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
