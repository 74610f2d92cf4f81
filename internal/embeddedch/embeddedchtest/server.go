package embeddedchtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/callhouse/callhouse/internal/embeddedch"
)

// EnvLauncher names a prebuilt clickhouse-embedded binary (`make clickhouse`
// builds build/clickhouse-embedded); without it the launcher is built into
// the cache directory with `go build`.
const EnvLauncher = "CALLHOUSE_CLICKHOUSE_EMBEDDED"

const launcherPkg = "github.com/callhouse/callhouse/cmd/clickhouse-embedded"

// Timeouts: a cold fetch downloads about 180 MB; a cold start maps a 570 MB
// library from disk.
const (
	fetchTimeout = 10 * time.Minute
	readyTimeout = 2 * time.Minute
	stopTimeout  = embeddedch.StopTimeout + 5*time.Second
	portAttempts = 3 // free ports may be taken between choosing and binding
)

// server is a running clickhouse-embedded child process.
type server struct {
	cmd               *exec.Cmd
	exited            chan struct{} // closed once cmd.Wait returns
	waitErr           error
	dir, log          string
	removeDir         bool // a temporary dir, removed at stop
	tcpAddr, httpAddr string
}

func start() (*server, error) {
	launcher, lib, err := prepare()
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		dir, err := os.MkdirTemp("", "callhouse-clickhouse-")
		if err != nil {
			return nil, err
		}
		srv, err := startFree(launcher, lib, dir)
		if err == nil {
			srv.removeDir = true
			return srv, nil
		}
		os.RemoveAll(dir)
		if attempt == portAttempts || !strings.Contains(err.Error(), "in use") {
			return nil, err
		}
	}
}

// prepare fetches the library if missing and builds the launcher.
func prepare() (launcher, lib string, err error) {
	cacheDir, err := embeddedch.CacheDir()
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	if lib, err = embeddedch.Fetch(ctx, cacheDir, os.Stderr); err != nil {
		return "", "", err
	}
	if launcher, err = buildLauncher(ctx, cacheDir); err != nil {
		return "", "", err
	}
	return launcher, lib, nil
}

// startFree starts a server on free ports.
func startFree(launcher, lib, dir string) (*server, error) {
	ports, err := embeddedch.FreePorts(2)
	if err != nil {
		return nil, err
	}
	return startServer(launcher, lib, dir, ports[0], ports[1])
}

// buildLauncher builds cmd/clickhouse-embedded into cacheDir/bin, once per
// change of its sources (go build leaves an up-to-date binary alone).
func buildLauncher(ctx context.Context, cacheDir string) (string, error) {
	if p := os.Getenv(EnvLauncher); p != "" {
		return p, nil
	}
	bin := filepath.Join(cacheDir, "bin", "clickhouse-embedded")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	unlock, err := embeddedch.LockFile(bin + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, launcherPkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (or set %s): %w\n%s", launcherPkg, EnvLauncher, err, out)
	}
	return bin, nil
}

// startServer starts clickhouse-embedded with its data in dir/data and its
// standard error in dir/server.log, and waits until it is ready.
func startServer(launcher, lib, dir string, tcpPort, httpPort int) (*server, error) {
	s := &server{dir: dir, log: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	logFile, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	s.cmd = exec.Command(launcher, "serve",
		"--path", filepath.Join(dir, "data"),
		"--tcp-port", strconv.Itoa(tcpPort),
		"--http-port", strconv.Itoa(httpPort),
		"--lib", lib)
	s.cmd.Stderr = logFile
	s.cmd.SysProcAttr = childAttrs()
	ready := &readyWatcher{line: make(chan string, 1)}
	s.cmd.Stdout = ready
	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that started the child:
		// keep that thread for the child's whole life.
		runtime.LockOSThread()
		if err := s.cmd.Start(); err != nil {
			started <- fmt.Errorf("start %s: %w", launcher, err)
			return
		}
		started <- nil
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	select {
	case line := <-ready.line:
		s.tcpAddr, s.httpAddr, err = parseReady(line)
		if err != nil {
			s.kill()
			return nil, err
		}
		return s, nil
	case <-s.exited:
		err = fmt.Errorf("the server exited (%v): %s", s.waitErr, s.logTail())
	case <-time.After(readyTimeout):
		err = fmt.Errorf("the server was not ready within %s: %s", readyTimeout, s.logTail())
	}
	s.kill()
	return nil, err
}

// readyWatcher is the server's standard output: it passes on the first
// ready line and drops the rest.
type readyWatcher struct {
	buf  []byte
	line chan string
	seen bool
}

func (w *readyWatcher) Write(p []byte) (int, error) {
	if w.seen {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if strings.HasPrefix(line, "ready ") {
			w.seen, w.buf = true, nil
			w.line <- line
			return len(p), nil
		}
	}
}

// parseReady reads "ready tcp=HOST:PORT http=HOST:PORT".
func parseReady(line string) (tcp, http string, err error) {
	for _, f := range strings.Fields(line)[1:] {
		if v, ok := strings.CutPrefix(f, "tcp="); ok {
			tcp = v
		} else if v, ok := strings.CutPrefix(f, "http="); ok {
			http = v
		}
	}
	if tcp == "" || http == "" {
		return "", "", fmt.Errorf("unexpected ready line %q", line)
	}
	return tcp, http, nil
}

// stop asks the server to stop, waits for it, and removes its data.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case <-s.exited:
		if s.waitErr != nil {
			err = fmt.Errorf("the server did not stop cleanly (%v): %s", s.waitErr, s.logTail())
		}
	case <-time.After(stopTimeout):
		err = fmt.Errorf("the server did not stop within %s; killed it", stopTimeout)
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	if s.removeDir {
		err = errors.Join(err, os.RemoveAll(s.dir))
	}
	return err
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// logTail is the end of the server's standard error, for error messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	if len(b) == 0 {
		return "(no output)"
	}
	return strings.TrimSpace(string(b))
}
