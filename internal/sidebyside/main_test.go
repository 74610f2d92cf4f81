package sidebyside

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/callhouse/callhouse/internal/localstack"
)

// repoRoot is the repository, seen from this package's directory (where
// `go test` runs).
var repoRoot = filepath.Join("..", "..")

// envLauncher names the clickhouse-embedded launcher for the tests; by
// default the one `make clickhouse` builds.
const envLauncher = "CALLHOUSE_CLICKHOUSE_LAUNCHER"

// server is the one embedded ClickHouse of the test binary, started by the
// first test or benchmark that needs it and stopped by TestMain.
var server struct {
	once sync.Once
	ch   localstack.ClickHouse
	proc *localstack.Process
	err  error
}

// testServer is the running server and its process.
type testServer struct {
	ClickHouse localstack.ClickHouse
	Process    *localstack.Process
}

func testClickHouse(tb testing.TB) testServer {
	server.once.Do(func() { server.ch, server.proc, server.err = startClickHouse() })
	if server.err != nil {
		tb.Fatal(server.err)
	}
	return testServer{ClickHouse: server.ch, Process: server.proc}
}

func startClickHouse() (localstack.ClickHouse, *localstack.Process, error) {
	launcher := os.Getenv(envLauncher)
	if launcher == "" {
		launcher = filepath.Join(repoRoot, "build", "clickhouse-embedded")
	}
	if _, err := os.Stat(launcher); err != nil {
		return localstack.ClickHouse{}, nil, fmt.Errorf("no ClickHouse launcher (run `make clickhouse` or set %s): %w", envLauncher, err)
	}
	dir, err := os.MkdirTemp("", "sidebyside-test-")
	if err != nil {
		return localstack.ClickHouse{}, nil, err
	}
	tcp, err := localstack.FreePort()
	if err != nil {
		return localstack.ClickHouse{}, nil, err
	}
	httpPort, err := localstack.FreePort()
	if err != nil {
		return localstack.ClickHouse{}, nil, err
	}
	ch := localstack.ClickHouse{Launcher: launcher, Path: dir, TCPPort: tcp, HTTPPort: httpPort, Out: os.Stderr}
	proc, err := ch.Start(context.Background())
	return ch, proc, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if server.proc != nil {
		_ = server.proc.Stop(stopTimeout)
		_ = os.RemoveAll(server.ch.Path)
	}
	os.Exit(code)
}
