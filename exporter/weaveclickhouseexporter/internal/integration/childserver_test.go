package integration

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/callhouse/callhouse/internal/embeddedch"
)

// childServer is an embedded ClickHouse in a child process
// (cmd/clickhouse-embedded) that a test can stop and start again on the
// same ports and data directory, unlike the shared server of the binary.
type childServer struct {
	t                 *testing.T
	bin, lib, dir     string
	tcpPort, httpPort int
	args              []string // more launcher flags, e.g. --config
	cmd               *exec.Cmd
	exited            chan error // receives the process's end
}

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// serverBinary builds cmd/clickhouse-embedded once per test binary.
func serverBinary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "weavech-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "clickhouse-embedded")
		cmd := exec.Command("go", "build", "-o", buildOnce.bin, "github.com/callhouse/callhouse/cmd/clickhouse-embedded")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = &exec.ExitError{Stderr: out}
		}
	})
	require.NoError(t, buildOnce.err)
	return buildOnce.bin
}

func newChildServer(t *testing.T) *childServer {
	cache, err := embeddedch.CacheDir()
	require.NoError(t, err)
	// Fetched already when the shared server is the embedded one; fetched
	// here when the tests run against an external server.
	lib, err := embeddedch.Fetch(context.Background(), cache, os.Stderr)
	require.NoError(t, err)
	s := &childServer{
		t:        t,
		bin:      serverBinary(t),
		lib:      lib,
		dir:      t.TempDir(),
		tcpPort:  freePort(t),
		httpPort: freePort(t),
	}
	t.Cleanup(s.stop)
	return s
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *childServer) addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.tcpPort))
}

// start serves the data directory and waits until the server answers.
func (s *childServer) start() {
	s.t.Helper()
	ready := filepath.Join(s.dir, "ready")
	require.NoError(s.t, os.RemoveAll(ready))
	s.cmd = exec.Command(s.bin, append([]string{"serve", "--path", filepath.Join(s.dir, "data"),
		"--tcp-port", strconv.Itoa(s.tcpPort), "--http-port", strconv.Itoa(s.httpPort),
		"--ready-file", ready, "--lib", s.lib}, s.args...)...)
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(s.t, s.cmd.Start())
	s.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan<- error) { exited <- cmd.Wait() }(s.cmd, s.exited)
	deadline := time.After(2 * time.Minute)
	for {
		if _, err := os.Stat(ready); err == nil {
			return
		}
		select {
		case err := <-s.exited:
			s.cmd = nil
			s.t.Fatalf("embedded ClickHouse exited before it was ready: %v", err)
		case <-deadline:
			s.t.Fatal("embedded ClickHouse not ready after 2 minutes")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop stops the server (SIGTERM, as an operator would) and waits for it.
func (s *childServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}
