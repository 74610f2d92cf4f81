package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callhouse/callhouse/internal/localstack"
)

// TestRunAndDemo is `make run` then `make demo` then Ctrl-C, on free
// ports: callhouse-run starts an embedded ClickHouse and the collector, the
// demo's calls are queryable, an interrupt stops both children and exits 0,
// and the data is still there after the next start.
func TestRunAndDemo(t *testing.T) {
	bin := t.TempDir()
	build := func(name, pkg string) string {
		out := filepath.Join(bin, name)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
		return out
	}
	runBin := build("callhouse-run", "./cmd/callhouse-run")
	demoBin := build("callhouse-demo", "./cmd/callhouse-demo")
	launcher := build("clickhouse-embedded", "./cmd/clickhouse-embedded")

	ports := make([]int, 2)
	for i := range ports {
		p, err := localstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	ep, err := localstack.FreeEndpoints()
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	env := append(os.Environ(),
		"CALLHOUSE_CLICKHOUSE_ENDPOINT=", // the embedded server, not an external one
		"CALLHOUSE_OTLP_GRPC_ENDPOINT="+ep.OTLPGRPC,
		"CALLHOUSE_OTLP_HTTP_ENDPOINT="+ep.OTLPHTTP,
		"CALLHOUSE_HEALTH_ENDPOINT="+ep.Health,
		"CALLHOUSE_METRICS_PORT="+strconv.Itoa(ep.MetricsPort),
	)
	nativeAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))

	// start runs callhouse-run until it prints its banner.
	start := func() (*exec.Cmd, *syncWriter, string) {
		log := &syncWriter{}
		cmd := exec.Command(runBin, "-collector", collectorBinary, "-launcher", launcher,
			"-config", filepath.Join(repoRoot, "config", "callhouse.yaml"), "-data", data,
			"-tcp-port", strconv.Itoa(ports[0]), "-http-port", strconv.Itoa(ports[1]))
		cmd.Env = env
		cmd.Stderr = log
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		banner := make(chan string, 1)
		go func() {
			var b strings.Builder
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				b.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "stop:") {
					banner <- b.String()
				}
			}
			close(banner)
		}()
		select {
		case text, ok := <-banner:
			if !ok {
				cmd.Wait()
				t.Fatalf("callhouse-run exited without its banner:\n%s", log.String())
			}
			go io.Copy(io.Discard, stdout)
			return cmd, log, text
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			t.Fatalf("no banner from callhouse-run:\n%s", log.String())
		}
		return nil, nil, ""
	}
	// interrupt is Ctrl-C: callhouse-run must exit 0 with nothing left listening.
	interrupt := func(cmd *exec.Cmd, log *syncWriter) {
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("callhouse-run after Ctrl-C: %v\n%s", err, log.String())
			}
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			t.Fatalf("callhouse-run did not stop after Ctrl-C:\n%s", log.String())
		}
		for _, addr := range []string{nativeAddr, httpAddr, ep.OTLPGRPC, ep.OTLPHTTP} {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after Ctrl-C", addr)
			}
		}
	}

	cmd, log, banner := start()
	for _, want := range []string{ep.OTLPGRPC, "http://" + ep.OTLPHTTP + "/v1/traces", "curl 'http://" + httpAddr + "/?query="} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner does not show %q:\n%s", want, banner)
		}
	}
	demo := exec.Command(demoBin, "-otlp", ep.OTLPGRPC, "-clickhouse", nativeAddr, "-clickhouse-http", httpAddr, "-turns", "2")
	out, err := demo.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "→ 12 calls (of 12 spans sent)") {
		t.Errorf("demo: %v\n%s", err, out)
	}
	interrupt(cmd, log)

	// The next start serves the same data.
	cmd, log, _ = start()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{nativeAddr}})
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	err = conn.QueryRow(context.Background(), "SELECT count() FROM weave.calls WHERE project_id = 'demo/travel-agent'").Scan(&n)
	conn.Close()
	if err != nil || n != 12 {
		t.Errorf("after a restart: %d calls (%v), want the demo's 12", n, err)
	}
	interrupt(cmd, log)
}
