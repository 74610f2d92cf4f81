package pricing

import (
	"encoding/json"
	"testing"
)

// FuzzParseLiteLLM feeds arbitrary bytes to the price-file parser and
// arbitrary names to the lookup. Neither may panic; a file that parses must
// account for every entry (a price, a skipped entry or sample_spec), hold
// only valid prices, and each of its models must be found by its own name.
// The seed corpus is in testdata/fuzz/FuzzParseLiteLLM.
func FuzzParseLiteLLM(f *testing.F) {
	f.Add(builtinJSON, "us.anthropic.claude-3-5-sonnet-20241022-v2:0")
	f.Fuzz(func(t *testing.T, data []byte, model string) {
		prices, skipped, err := parseLiteLLM("fuzz.json", data, "2026-01-01", LevelFile)
		if err != nil {
			return
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatalf("parser accepted what encoding/json rejects: %v", err)
		}
		_, hasSpec := raw[sampleSpec]
		accounted := len(prices) + skipped
		if hasSpec {
			accounted++
		}
		if accounted != len(raw) {
			t.Fatalf("%d entries, %d prices, %d skipped, sample_spec %v: entries lost", len(raw), len(prices), skipped, hasSpec)
		}
		tab := newTable(prices)
		for _, p := range prices {
			if err := p.validate(); err != nil {
				t.Fatalf("parser returned an invalid price: %v", err)
			}
			if got, ok := tab.Lookup(p.Model); !ok || got != p {
				t.Fatalf("Lookup(%q) = %+v, %v; want %+v", p.Model, got, ok, p)
			}
		}
		tab.Lookup(model)
	})
}
