package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/callhouse/callhouse/internal/embeddedch"
)

// Bad command lines fail before anything is loaded.
func TestRunRejects(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no subcommand", nil, "usage:"},
		{"unknown subcommand", []string{"start"}, "usage:"},
		{"fetch with arguments", []string{"fetch", "x"}, "usage:"},
		{"serve without path", []string{"serve"}, "a data path is required"},
		{"serve on all interfaces", []string{"serve", "--path", "d", "--listen", "0.0.0.0"}, "not loopback"},
		{"serve with one port twice", []string{"serve", "--path", "d", "--tcp-port", "9000", "--http-port", "9000"}, "both 9000"},
		{"serve with unknown flag", []string{"serve", "--path", "d", "--user", "x"}, "flag provided but not defined"},
		{"serve with extra arguments", []string{"serve", "--path", "d", "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			require.ErrorContains(t, err, tt.wantErr)
			require.Empty(t, stdout.String())
		})
	}
}

// The built launcher serves, writes the ready file a script waits for, and
// on SIGTERM stops with status 0 and removes the ready file.
func TestServeReadyFileAndSignalStop(t *testing.T) {
	ports, err := embeddedch.FreePorts(2)
	require.NoError(t, err)
	p := startServe(t, t.TempDir(), ports[0], ports[1])

	want := fmt.Sprintf("ready tcp=127.0.0.1:%d http=127.0.0.1:%d\n", ports[0], ports[1])
	b, err := os.ReadFile(p.readyFile)
	require.NoError(t, err)
	require.Equal(t, want, string(b))

	require.NoError(t, p.stop(), "stderr: %s", &p.stderr)
	require.Equal(t, want, p.stdout.String())
	require.NoFileExists(t, p.readyFile)
	require.Contains(t, p.stderr.String(), "clickhouse-embedded: stopped")
}

// Two launchers whose --config names both as the shards of one cluster: a
// Distributed table spreads rows over them (what a two-shard test needs).
func TestTwoShardCluster(t *testing.T) {
	ports, err := embeddedch.FreePorts(4)
	require.NoError(t, err)
	config := filepath.Join(t.TempDir(), "cluster.xml")
	require.NoError(t, os.WriteFile(config, fmt.Appendf(nil, `<clickhouse><remote_servers><pair>
<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>
<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>
</pair></remote_servers></clickhouse>`, ports[0], ports[2]), 0o644))

	ctx := context.Background()
	var shards []clickhouse.Conn
	var servers []*served
	for i := range 2 {
		servers = append(servers, startServe(t, t.TempDir(), ports[2*i], ports[2*i+1], "--config", config))
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{fmt.Sprintf("127.0.0.1:%d", ports[2*i])}})
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		require.NoError(t, conn.Exec(ctx, "CREATE DATABASE c ENGINE = Atomic"))
		require.NoError(t, conn.Exec(ctx, "CREATE TABLE c.local (id UInt64) ENGINE = MergeTree ORDER BY id"))
		shards = append(shards, conn)
	}
	require.NoError(t, shards[0].Exec(ctx, "CREATE TABLE c.all AS c.local ENGINE = Distributed(pair, c, local, id)"))
	require.NoError(t, shards[0].Exec(ctx, "INSERT INTO c.all SELECT number FROM numbers(1000) SETTINGS distributed_foreground_insert = 1"))

	var total uint64
	require.NoError(t, shards[0].QueryRow(ctx, "SELECT count() FROM c.all").Scan(&total))
	require.Equal(t, uint64(1000), total)
	for i, conn := range shards {
		var n uint64
		require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM c.local").Scan(&n))
		require.Equal(t, uint64(500), n, "shard %d holds the rows with id %% 2 == %d", i+1, i)
	}
	// The shard that holds the Distributed table stops first: its pool keeps
	// connections to the other, which would wait 5 s for them.
	for i := range shards {
		shards[i].Close()
	}
	for _, srv := range servers {
		require.NoError(t, srv.stop(), "stderr: %s", &srv.stderr)
	}
}

// served is a launcher serving in a child process.
type served struct {
	cmd            *exec.Cmd
	exited         chan struct{} // closed when the process has ended
	waitErr        error
	stdout, stderr bytes.Buffer
	readyFile      string
}

// stop sends SIGTERM and returns how the process ended; killed after a minute.
func (p *served) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	return p.waitErr
}

// startServe runs the launcher on data dir dir and waits for its ready file;
// the server is stopped at cleanup, after the connections the test opens.
func startServe(t *testing.T, dir string, tcpPort, httpPort int, extra ...string) *served {
	bin, lib := launcher(t)
	p := &served{readyFile: filepath.Join(dir, "ready"), exited: make(chan struct{})}
	args := append([]string{"serve", "--path", filepath.Join(dir, "data"), "--lib", lib,
		"--tcp-port", strconv.Itoa(tcpPort), "--http-port", strconv.Itoa(httpPort), "--ready-file", p.readyFile}, extra...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { _ = p.stop() }) // a no-op once stopped
	require.Eventually(t, func() bool {
		_, err := os.Stat(p.readyFile)
		return err == nil
	}, time.Minute, 20*time.Millisecond, "ready file")
	return p
}

// A server that cannot start ends the launcher with ClickHouse's reason.
func TestServeFailsOnUnusablePath(t *testing.T) {
	bin, lib := launcher(t)
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	ports, err := embeddedch.FreePorts(2)
	require.NoError(t, err)
	cmd := exec.Command(bin, "serve", "--path", filepath.Join(file, "data"), "--lib", lib,
		"--tcp-port", strconv.Itoa(ports[0]), "--http-port", strconv.Itoa(ports[1]))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 1, exit.ExitCode())
	require.Contains(t, string(out), "the server stopped by itself")
	require.Contains(t, string(out), "Not a directory")
}

var built struct {
	sync.Once
	bin, lib string
	err      error
}

// launcher builds this command once per test binary and fetches the library.
func launcher(t *testing.T) (bin, lib string) {
	built.Do(func() {
		dir, err := os.MkdirTemp("", "clickhouse-embedded-test-")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "clickhouse-embedded")
		build := exec.Command("go", "build", "-o", built.bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		cacheDir, err := embeddedch.CacheDir()
		if err != nil {
			built.err = err
			return
		}
		built.lib, built.err = embeddedch.Fetch(context.Background(), cacheDir, os.Stderr)
	})
	require.NoError(t, built.err)
	return built.bin, built.lib
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.bin != "" {
		os.RemoveAll(filepath.Dir(built.bin))
	}
	os.Exit(code)
}
