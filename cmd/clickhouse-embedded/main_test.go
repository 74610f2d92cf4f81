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
	bin, lib := launcher(t)
	dir := t.TempDir()

	ports, err := embeddedch.FreePorts(2)
	require.NoError(t, err)
	tcp, http := ports[0], ports[1]
	readyFile := filepath.Join(dir, "ready")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "serve", "--path", filepath.Join(dir, "data"), "--lib", lib,
		"--tcp-port", strconv.Itoa(tcp), "--http-port", strconv.Itoa(http), "--ready-file", readyFile)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	want := fmt.Sprintf("ready tcp=127.0.0.1:%d http=127.0.0.1:%d\n", tcp, http)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(readyFile)
		return string(b) == want
	}, time.Minute, 20*time.Millisecond, "ready file; stderr: %s", &stderr)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-exited, "stderr: %s", &stderr)
	require.Equal(t, want, stdout.String())
	require.NoFileExists(t, readyFile)
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
