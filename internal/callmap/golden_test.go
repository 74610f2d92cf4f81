package callmap

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixturesDir holds the OTLP JSON inputs of the golden tests: hand-built
// conv-* (one per convention) and bad-* cases, and real producers' traces.
const fixturesDir = "../../testdata"

// goldenMapper maps the fixtures without a price table, so built-in price
// updates do not churn the goldens; costs are tested in TestCosts.
func goldenMapper() *Mapper { return NewMapperWithPrices(DefaultConfig(), nil) }

// mapFixture maps every span of an OTLP JSON file and encodes the calls as
// one indented JSON list.
func mapFixture(t testing.TB, m *Mapper, data []byte) []byte {
	t.Helper()
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(data)
	require.NoError(t, err)
	var out bytes.Buffer
	out.WriteString("[")
	n := 0
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				c := m.Map(rs.Resource(), ss.Scope(), span)
				checkValidJSON(t, &c)
				b, err := c.MarshalJSON()
				require.NoError(t, err)
				if n > 0 {
					out.WriteString(",")
				}
				out.WriteString("\n")
				out.Write(b)
				n++
			}
		}
	}
	out.WriteString("\n]\n")
	return out.Bytes()
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixturesDir, "*.otlp.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	m := goldenMapper()
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".otlp.json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			got := mapFixture(t, m, data)
			golden := filepath.Join("testdata", name+".calls.json")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file; run go test ./internal/callmap -update")
			if d := firstDiff(string(want), string(got)); d != "" {
				t.Fatalf("mapping changed; review and run go test ./internal/callmap -update\n%s", d)
			}
		})
	}
}

// firstDiff shows the first differing line of two texts with some context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		if i < len(w) && i < len(g) && w[i] == g[i] {
			continue
		}
		var b strings.Builder
		for j := max(0, i-3); j < i; j++ {
			fmt.Fprintf(&b, "  %d   %s\n", j+1, w[j])
		}
		if i < len(w) {
			fmt.Fprintf(&b, "  %d - %s\n", i+1, w[i])
		}
		if i < len(g) {
			fmt.Fprintf(&b, "  %d + %s\n", i+1, g[i])
		}
		return b.String()
	}
	return ""
}
