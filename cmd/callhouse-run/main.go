// Command callhouse-run runs a local callhouse in the foreground, as `make
// run` does: an embedded ClickHouse (unless CALLHOUSE_CLICKHOUSE_ENDPOINT
// names an external one) and the otelcol-callhouse collector. Ctrl-C stops
// the collector first, so it flushes what it holds, then ClickHouse.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/callhouse/callhouse/internal/localstack"
)

func main() {
	collector := flag.String("collector", "build/otelcol-callhouse/otelcol-callhouse", "otelcol-callhouse binary")
	launcher := flag.String("launcher", "build/clickhouse-embedded", "clickhouse-embedded launcher (`make clickhouse`)")
	config := flag.String("config", "config/callhouse.yaml", "collector configuration")
	data := flag.String("data", ".data", "data directory of the embedded ClickHouse")
	tcpPort := flag.Int("tcp-port", 9000, "native protocol port of the embedded ClickHouse")
	httpPort := flag.Int("http-port", 8123, "HTTP port of the embedded ClickHouse")
	flag.Parse()

	if err := run(*collector, *launcher, *config, *data, *tcpPort, *httpPort); err != nil {
		fmt.Fprintln(os.Stderr, "callhouse-run:", err)
		os.Exit(1)
	}
}

func run(collectorBin, launcher, config, data string, tcpPort, httpPort int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var children []*localstack.Process // in start order; stopped in reverse
	defer func() {
		for i := len(children) - 1; i >= 0; i-- {
			p := children[i]
			fmt.Fprintf(os.Stderr, "callhouse-run: stopping %s\n", p.Name())
			if err := p.Stop(localstack.StopTimeout); err != nil {
				fmt.Fprintln(os.Stderr, "callhouse-run:", err)
			}
		}
	}()

	external := os.Getenv("CALLHOUSE_CLICKHOUSE_ENDPOINT")
	queryHint := ""
	var env []string
	if external == "" {
		ch := localstack.ClickHouse{Launcher: launcher, Path: filepath.Join(data, "clickhouse"), TCPPort: tcpPort, HTTPPort: httpPort}
		if err := os.MkdirAll(ch.Path, 0o755); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "callhouse-run: starting the embedded ClickHouse (data in %s)\n", ch.Path)
		p, err := ch.Start(ctx)
		if err != nil {
			return err
		}
		children = append(children, p)
		env = append(env, "CALLHOUSE_CLICKHOUSE_ENDPOINT=tcp://"+ch.NativeAddr())
		queryHint = fmt.Sprintf("curl 'http://%s/?query=%s'", ch.HTTPAddr(),
			url.QueryEscape("SELECT op_name, started_at, summary FROM weave.calls ORDER BY started_at DESC LIMIT 10 FORMAT Vertical"))
	} else {
		queryHint = "query weave.calls on " + withoutCredentials(external)
	}

	col := localstack.Collector{Binary: collectorBin, Config: config, Env: env, Health: envOr("CALLHOUSE_HEALTH_ENDPOINT", "127.0.0.1:13133")}
	fmt.Fprintf(os.Stderr, "callhouse-run: starting the collector with %s\n", config)
	p, err := col.Start(ctx)
	if err != nil {
		return err
	}
	children = append(children, p)

	grpc := envOr("CALLHOUSE_OTLP_GRPC_ENDPOINT", "127.0.0.1:4317")
	httpAddr := envOr("CALLHOUSE_OTLP_HTTP_ENDPOINT", "127.0.0.1:4318")
	fmt.Printf(`
callhouse is running.
  send OTLP traces:  gRPC %s   HTTP http://%s/v1/traces
                     (OTEL_EXPORTER_OTLP_ENDPOINT=http://%s)
  try it:            make demo
  query the calls:   %s
  stop:              Ctrl-C

`, grpc, httpAddr, hostPort(httpAddr), queryHint)

	for _, c := range children {
		go func() {
			<-c.Done()
			stop() // a child that exits on its own ends the run
		}()
	}
	<-ctx.Done()
	for _, c := range children {
		select {
		case <-c.Done():
			return errors.Join(fmt.Errorf("%s exited", c.Name()), c.Err())
		default:
		}
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// withoutCredentials drops a user and password from a DSN before it is shown.
func withoutCredentials(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.User == nil {
		return endpoint
	}
	u.User = nil
	return u.String()
}

// hostPort shows a listen address as one a client can dial.
func hostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || (host != "0.0.0.0" && host != "") {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}
