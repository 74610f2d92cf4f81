package callmap

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestLangfuse maps spans as the Langfuse SDK writes them
// (langfuse.observation.*): inputs, output, kind, model, parameters,
// usage, costs and level.
func TestLangfuse(t *testing.T) {
	type kvs = map[string]any
	for _, tc := range []struct {
		name  string
		attrs kvs
		check func(t *testing.T, c Call, r Record)
	}{
		{"observation input and output", kvs{"langfuse.observation.input": `{"question":"hi"}`, "langfuse.observation.output": `["hello"]`}, func(t *testing.T, _ Call, r Record) {
			assert.JSONEq(t, `{"langfuse.observation.input":{"question":"hi"}}`, r.Inputs)
			assert.JSONEq(t, `{"langfuse.observation.output":["hello"]}`, r.Output)
			assert.NotContains(t, r.Attributes, `"input"`)
		}},
		{"trace input when the observation has none", kvs{"langfuse.trace.input": `["a"]`, "langfuse.trace.output": `{"ok":true}`}, func(t *testing.T, _ Call, r Record) {
			assert.JSONEq(t, `{"langfuse.trace.input":["a"]}`, r.Inputs)
			assert.JSONEq(t, `{"langfuse.trace.output":{"ok":true}}`, r.Output)
		}},
		{"observation before trace, trace stays in attributes", kvs{"langfuse.observation.input": `[1]`, "langfuse.trace.input": `[2]`}, func(t *testing.T, _ Call, r Record) {
			assert.JSONEq(t, `{"langfuse.observation.input":[1]}`, r.Inputs)
			requireJSONAt(t, `[2]`, []byte(r.Attributes), "langfuse", "trace", "input")
		}},
		{"the listed conventions win", kvs{"input.value": "x", "langfuse.observation.input": `"y"`}, func(t *testing.T, _ Call, r Record) {
			assert.JSONEq(t, `{"input.value":"x"}`, r.Inputs)
		}},
		{"generation: kind, model, parameters", kvs{"langfuse.observation.type": "generation", "langfuse.observation.model.name": "test-model", "langfuse.observation.model.parameters": `{"temperature":0.2,"max_tokens":"100"}`}, func(t *testing.T, c Call, r Record) {
			assert.Equal(t, "llm", c.Kind)
			assert.Equal(t, "test-model", c.Model)
			requireJSONAt(t, `0.2`, []byte(r.Attributes), "model_parameters", "temperature")
			requireJSONAt(t, `"100"`, []byte(r.Attributes), "model_parameters", "max_tokens")
		}},
		{"other observation types", kvs{"langfuse.observation.type": "retriever"}, func(t *testing.T, c Call, _ Record) {
			assert.Equal(t, "retriever", c.Kind)
		}},
		{"a plain span says no kind", kvs{"langfuse.observation.type": "span"}, func(t *testing.T, c Call, _ Record) {
			assert.Equal(t, "", c.Kind)
		}},
		{"the GenAI model wins", kvs{"gen_ai.request.model": "m1", "langfuse.observation.model.name": "m2"}, func(t *testing.T, c Call, _ Record) {
			assert.Equal(t, "m1", c.Model)
		}},
		{"usage details: every input and output part counts", kvs{"langfuse.observation.model.name": "m1", "langfuse.observation.usage_details": `{"input":18,"output":50,"total":86,"input_cached_tokens":18,"input_audio_tokens":0,"output_reasoning_tokens":4,"output_audio_tokens":0}`}, func(t *testing.T, c Call, _ Record) {
			require.Len(t, c.Summary.Usage, 1)
			assert.Equal(t, ModelUsage{Model: "m1", Usage: Usage{Requests: 1, InputTokens: 36, OutputTokens: 54, TotalTokens: 86, CacheReadInputTokens: 18, ReasoningTokens: 4}}, c.Summary.Usage[0])
			assert.Equal(t, int64(36), c.InputTokens)
			assert.Equal(t, int64(86), c.TotalTokens)
		}},
		{"usage details with Anthropic's cache names, no total", kvs{"langfuse.observation.usage_details": `{"input":100,"output":5,"cache_read_input_tokens":300,"cache_creation_input_tokens":20}`}, func(t *testing.T, c Call, _ Record) {
			assert.Equal(t, Usage{Requests: 1, InputTokens: 420, OutputTokens: 5, TotalTokens: 425, CacheReadInputTokens: 300, CacheCreationInputTokens: 20}, c.Summary.Usage[0].Usage)
		}},
		{"usage details with OpenAI names, strings and integral decimals", kvs{"langfuse.observation.usage_details": `{"prompt_tokens":"7","completion_tokens":3.0,"nested":{"input":99},"list":[1,{"output":2}]}`}, func(t *testing.T, c Call, _ Record) {
			require.Len(t, c.Summary.Usage, 1)
			assert.Equal(t, Usage{Requests: 1, InputTokens: 7, OutputTokens: 3, TotalTokens: 10}, c.Summary.Usage[0].Usage)
		}},
		{"Langfuse's own names beat OpenAI's, which include their details", kvs{"langfuse.observation.usage_details": `{"prompt_tokens":36,"input":2,"completion_tokens":9,"total_tokens":45}`}, func(t *testing.T, c Call, _ Record) {
			assert.Equal(t, Usage{Requests: 1, InputTokens: 2, OutputTokens: 9, TotalTokens: 45}, c.Summary.Usage[0].Usage)
		}},
		{"span attributes beat usage details", kvs{"gen_ai.usage.input_tokens": 100, "langfuse.observation.usage_details": `{"input":1,"output":2}`}, func(t *testing.T, c Call, _ Record) {
			assert.Equal(t, Usage{Requests: 1, InputTokens: 100, OutputTokens: 2, TotalTokens: 102}, c.Summary.Usage[0].Usage)
		}},
		{"usage details that are not counts", kvs{"langfuse.observation.usage_details": `{"input":-1,"output":2.5,"total":"x"}`}, func(t *testing.T, c Call, r Record) {
			assert.Empty(t, c.Summary.Usage)
			requireJSONAt(t, `{"input":-1,"output":2.5,"total":"x"}`, []byte(r.Attributes), "langfuse", "observation", "usage_details")
		}},
		{"usage details that are not JSON", kvs{"langfuse.observation.usage_details": `{"input":1`}, func(t *testing.T, c Call, r Record) {
			assert.Empty(t, c.Summary.Usage)
			requireJSONAt(t, `"{\"input\":1"`, []byte(r.Attributes), "langfuse", "observation", "usage_details")
		}},
		{"cost details are app costs", kvs{"langfuse.observation.model.name": "test-model", "langfuse.observation.usage_details": `{"input":1000,"output":100}`, "langfuse.observation.cost_details": `{"input":0.25,"output":"0.5","total":0.8}`}, func(t *testing.T, c Call, _ Record) {
			require.Len(t, c.Summary.Costs, 1)
			got := c.Summary.Costs[0]
			assert.Equal(t, pricingLevelApp, got.PricingLevel)
			assert.InDelta(t, 0.25, got.PromptTokensTotalCost, 1e-12)
			assert.InDelta(t, 0.5, got.CompletionTokensTotalCost, 1e-12)
			assert.InDelta(t, 0.8, got.TotalCost, 1e-12)
			assert.InDelta(t, 0.8, c.CostUSD, 1e-12)
		}},
		{"cost attributes beat cost details", kvs{"langfuse.observation.model.name": "m1", "gen_ai.usage.cost": 2, "langfuse.observation.cost_details": `{"total":1}`}, func(t *testing.T, c Call, _ Record) {
			assert.InDelta(t, 2.0, c.CostUSD, 1e-12)
		}},
		{"without cost details the price table prices", kvs{"langfuse.observation.model.name": "test-model", "langfuse.observation.usage_details": `{"input":1000,"output":100}`}, func(t *testing.T, c Call, _ Record) {
			require.Len(t, c.Summary.Costs, 1)
			assert.Equal(t, "config", c.Summary.Costs[0].PricingLevel)
			assert.InDelta(t, 0.0028, c.CostUSD, 1e-12)
		}},
		{"level ERROR is an error, its status message the exception", kvs{"langfuse.observation.level": "ERROR", "langfuse.observation.status_message": "tool timed out"}, func(t *testing.T, c Call, _ Record) {
			assert.Equal(t, StatusError, c.Summary.Status)
			assert.Equal(t, "tool timed out", c.Exception)
			assert.Equal(t, StatusCounts{Error: 1}, c.Summary.StatusCounts)
		}},
		{"level error without a message", kvs{"langfuse.observation.level": "error"}, func(t *testing.T, c Call, _ Record) {
			assert.Equal(t, StatusError, c.Summary.Status)
			assert.Equal(t, "error", c.Exception)
		}},
		{"level WARNING is no error", kvs{"langfuse.observation.level": "WARNING", "langfuse.observation.status_message": "slow"}, func(t *testing.T, c Call, _ Record) {
			assert.Equal(t, StatusSuccess, c.Summary.Status)
			assert.Equal(t, "", c.Exception)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mapSpan(t, attrs(func(a pcommon.Map) {
				require.NoError(t, a.FromRaw(mergeRaw(a.AsRaw(), tc.attrs)))
			}))
			tc.check(t, c, c.ToRecord())
			// the same into a recycled Texts
			texts := NewRecycledTexts()
			res, scope, span := build(attrs(func(a pcommon.Map) {
				require.NoError(t, a.FromRaw(mergeRaw(a.AsRaw(), tc.attrs)))
			}))
			into := testMapper(t, DefaultConfig()).MapTo(texts, res, scope, span)
			assert.Equal(t, c.ToRecord(), into.ToRecord())
		})
	}
	t.Run("error status message beats the level's", func(t *testing.T) {
		c := mapSpan(t, func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			s.Attributes().PutStr("langfuse.observation.level", "ERROR")
			s.Attributes().PutStr("langfuse.observation.status_message", "from langfuse")
			s.Status().SetMessage("from otel")
		})
		assert.Equal(t, "from otel", c.Exception)
	})
}

// TestEachNumberMember reads the number members of object texts.
func TestEachNumberMember(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
	}{
		{`{}`, map[string]string{}},
		{`{"a":1,"b":-2.5e3,"c":"7","d":"x\"","e":null,"f":true,"g":"text"}`, map[string]string{"a": "1", "b": "-2.5e3", "c": "7", "g": "text"}},
		{`{"o":{"a":1,"s":"}"},"l":[{"b":[2]}],"z":3}`, map[string]string{"z": "3"}},
		{`{"k\u0041":1}`, map[string]string{`k\u0041`: "1"}},
		{`[1,2]`, map[string]string{}},
		{`"{"`, map[string]string{}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := map[string]string{}
			eachNumberMember(tc.in, func(name, num string) { got[name] = num })
			assert.Equal(t, tc.want, got)
		})
	}
}

// FuzzEachNumberMember checks the number members read from any valid
// object text against encoding/json's reading of it.
func FuzzEachNumberMember(f *testing.F) {
	for _, s := range []string{`{"input":10,"output":5}`, `{"a":{"b":1},"c":[1,"x"],"d":"12","e":-0.5e-3}`, `{"k\"ey":1,"":2}`, `[]`, `{"a":"\u00e9"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := appendCompactJSON(nil, s)
		if !ok {
			return
		}
		compact := string(out)
		var want map[string]json.RawMessage
		isObject := json.Unmarshal(out, &want) == nil && len(compact) > 0 && compact[0] == '{'
		got := map[string]string{}
		eachNumberMember(compact, func(name, num string) {
			require.True(t, isObject, "a member read from %q, which is no object", compact)
			if _, dup := got[name]; dup {
				return // encoding/json keeps the last of duplicate names
			}
			got[name] = num
		})
		if !isObject {
			return
		}
		for name, num := range got {
			key, err := strconv.Unquote(`"` + name + `"`)
			require.NoError(t, err, "name %q", name)
			raw, found := want[key]
			require.True(t, found, "name %q not in %q", name, compact)
			v := string(raw)
			if v[0] == '"' {
				v = v[1 : len(v)-1]
			}
			if _, dup := countNames(compact, key); !dup {
				assert.Equal(t, v, num, "member %q of %q", name, compact)
			}
		}
	})
}

// countNames reports how often key names a top-level member of the object
// text s (per encoding/json), and whether more than once.
func countNames(s, key string) (int, bool) {
	d := json.NewDecoder(strings.NewReader(s))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return 0, false
	}
	n := 0
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return n, n > 1
		}
		if tok == key {
			n++
		}
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			return n, n > 1
		}
	}
	return n, n > 1
}
