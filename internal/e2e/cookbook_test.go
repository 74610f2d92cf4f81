package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/callhouse/callhouse/internal/docsql"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// TestREADMECookbook sends what `make demo` sends through the collector,
// then runs every SQL example of the top-level README and checks that it
// prints exactly what the README shows.
func TestREADMECookbook(t *testing.T) {
	ctx := context.Background()
	c := startCollector(t, collectorOptions{})
	conn := clickhouseConn(t)

	conv := sendConversation(t, func() (sdktrace.SpanExporter, error) {
		return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(c.ep.OTLPGRPC), otlptracegrpc.WithInsecure())
	}, "callhouse-demo", "demo-thread")
	waitForCalls(t, conn, c.database, uint64(conv.Spans()))

	examples, err := docsql.Read(filepath.Join(repoRoot, "README.md"), c.database)
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			got := queryHTTP(t, ex.SQL+" FORMAT PrettyCompactMonoBlock")
			if ex.Output == "" {
				t.Fatalf("README example %s shows no output block; it prints:\n%s", ex.Name, got)
			}
			if g, w := docsql.Normalize(got), docsql.Normalize(ex.Output); g != w {
				t.Errorf("README example %s prints\n%s\nbut the README shows\n%s", ex.Name, g, w)
			}
		})
	}
}

// queryHTTP runs a query over ClickHouse's HTTP interface, as the README's
// curl examples do, and returns what it prints.
func queryHTTP(t *testing.T, query string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+embeddedchtest.HTTPAddr()+"/", strings.NewReader(query))
	if err != nil {
		t.Fatal(err)
	}
	if user := os.Getenv(embeddedchtest.EnvUser); user != "" {
		req.SetBasicAuth(user, os.Getenv(embeddedchtest.EnvPassword))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ClickHouse answered %s: %s\nquery:\n%s", resp.Status, body, query)
	}
	return string(body)
}
