// Command callhouse-demo sends a realistic agent conversation to a running
// callhouse collector over OTLP gRPC with the OpenTelemetry Go SDK (see
// internal/agentsim), then waits for its calls in ClickHouse and prints the
// SQL that finds them with the number of calls it returned. `make demo`
// runs it against `make run`.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/callhouse/callhouse/internal/agentsim"
)

func main() {
	otlp := flag.String("otlp", envOr("CALLHOUSE_OTLP_GRPC_ENDPOINT", "127.0.0.1:4317"), "collector OTLP gRPC address (host:port)")
	ch := flag.String("clickhouse", "127.0.0.1:9000", "ClickHouse native address (host:port) to read the calls from")
	chHTTP := flag.String("clickhouse-http", "127.0.0.1:8123", "ClickHouse HTTP address (host:port), for the curl example")
	db := flag.String("database", envOr("CALLHOUSE_CLICKHOUSE_DATABASE", "weave"), "database of the calls")
	turns := flag.Int("turns", 3, "turns of the conversation (1..20)")
	wait := flag.Duration("wait", time.Minute, "how long to wait for the calls to be queryable")
	flag.Parse()

	if err := run(*otlp, *ch, *chHTTP, *db, *turns, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "callhouse-demo:", err)
		os.Exit(1)
	}
}

func run(otlp, chAddr, chHTTP, db string, turns int, wait time.Duration) error {
	if turns < 1 || turns > 20 {
		return fmt.Errorf("-turns %d is not in 1..20", turns)
	}
	if !identifier.MatchString(db) {
		return fmt.Errorf("-database %q is not a plain identifier", db)
	}
	ctx := context.Background()
	agent, err := provider(ctx, otlp, agentsim.AgentService)
	if err != nil {
		return err
	}
	tools, err := provider(ctx, otlp, agentsim.ToolService)
	if err != nil {
		return err
	}
	thread := "demo-thread-" + randomHex(4)
	conv := agentsim.Run(ctx, agentsim.Tracers{Agent: agent.Tracer("callhouse-demo"), Tools: tools.Tracer("callhouse-demo")},
		thread, turns, time.Now().Add(-time.Duration(turns)*15*time.Second))
	// Shutdown flushes: once it returns, the collector has accepted every span.
	if err := errors.Join(agent.Shutdown(ctx), tools.Shutdown(ctx)); err != nil {
		return fmt.Errorf("sending to %s (is `make run` running?): %w", otlp, err)
	}
	fmt.Printf("sent %d spans in %d turns of thread %s to %s\n", conv.Spans(), turns, thread, otlp)

	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{chAddr}})
	if err != nil {
		return err
	}
	defer conn.Close()
	// The query people read shows the thread id; the one run binds it.
	const columns = "op_name, display_name, status, model, input_tokens, output_tokens, cost_usd"
	query := fmt.Sprintf("SELECT %s\nFROM %s.calls\nWHERE thread_id = '%s'\nORDER BY started_at", columns, db, thread)
	count := fmt.Sprintf("SELECT count() FROM %s.calls WHERE thread_id = {thread:String}", db)
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"thread": thread}))

	deadline := time.Now().Add(wait)
	var n uint64
	for {
		if err := conn.QueryRow(qctx, count).Scan(&n); err != nil {
			return fmt.Errorf("querying ClickHouse at %s: %w", chAddr, err)
		}
		if int(n) >= conv.Spans() || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Printf("\n%s;\n\n→ %d calls (of %d spans sent)\n", query, n, conv.Spans())
	fmt.Printf("\nThe same over HTTP:\n  curl http://%s/ --data-binary \"%s FORMAT PrettyCompact\"\n",
		chHTTP, strings.ReplaceAll(query, "\n", " "))
	if int(n) < conv.Spans() {
		return fmt.Errorf("only %d of %d calls arrived within %s", n, conv.Spans(), wait)
	}
	return nil
}

// provider is a tracer provider for service exporting over OTLP gRPC,
// without TLS (the collector of `make run` listens on loopback).
func provider(ctx context.Context, endpoint, service string) (*agentsim.Provider, error) {
	// Retry briefly: a collector that is not there should be said soon.
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 500 * time.Millisecond, MaxInterval: 2 * time.Second, MaxElapsedTime: 10 * time.Second}))
	if err != nil {
		return nil, err
	}
	return agentsim.NewProvider(exp, service), nil
}

// identifier is a database name that can go into SQL as it is.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
