package callmap

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/pricing"
)

type spanFn = func(pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span)

func TestIDs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		parent pcommon.SpanID
		want   string
	}{
		{"empty parent is a root", pcommon.SpanID{}, ""},
		{"all-zero parent is a root", pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, 0}, ""},
		{"parent in lowercase hex", pcommon.SpanID{0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x01, 0x02}, "aabbccddeeff0102"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mapSpan(t, func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) { s.SetParentSpanID(tc.parent) })
			assert.Equal(t, tc.want, c.ParentID)
			assert.Equal(t, "abcdef0102030405060708090a0b0c0d", c.TraceID)
			assert.Equal(t, "deadbeef00010203", c.ID)
		})
	}
}

func TestProjectID(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      func(*Config)
		res, spn map[string]string
		want     string
	}{
		{"resource entity and project", nil, map[string]string{"wandb.entity": "acme", "wandb.project": "bot"}, nil, "acme/bot"},
		{"span attributes after the resource", nil, map[string]string{"wandb.project": "res"}, map[string]string{"wandb.entity": "spanent", "wandb.project": "spanproj"}, "spanent/res"},
		{"project holding its entity", nil, map[string]string{"wandb.project": "team/bot"}, nil, "team/bot"},
		{"explicit entity beats the project's", nil, map[string]string{"wandb.entity": "acme", "wandb.project": "team/bot"}, nil, "acme/bot"},
		{"default project from config", func(c *Config) { c.DefaultProject = "cfgproj" }, map[string]string{"service.name": "svc"}, nil, "callhouse/cfgproj"},
		{"service.name as project", nil, map[string]string{"service.name": "svc"}, nil, "callhouse/svc"},
		{"default when nothing", func(c *Config) { c.DefaultEntity = "me" }, nil, nil, "me/default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			c := mapWith(t, testMapper(t, cfg), func(r pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
				for k, v := range tc.res {
					r.Attributes().PutStr(k, v)
				}
				for k, v := range tc.spn {
					s.Attributes().PutStr(k, v)
				}
			})
			assert.Equal(t, tc.want, c.ProjectID)
			assert.True(t, strings.HasPrefix(c.OpName, "weave:///"+tc.want+"/op/"), c.OpName)
		})
	}
}

func TestOpName(t *testing.T) {
	named := func(name string) spanFn {
		return func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) { s.SetName(name) }
	}
	for _, tc := range []struct{ name, span, safe string }{
		{"lower-cased, spaces and slashes", "Chat GPT/4o mini", "chat_gpt_4o_mini"},
		{"colon and other ref characters", "POST /v1/chat:completions?x#y", "post__v1_chat_completions_x_y"},
		{"dots, dashes, unicode letters kept", "ai.generateText-Ünïcode", "ai.generatetext-ünïcode"},
		{"empty name", "", "unnamed"},
		{"invalid UTF-8", "a\xffb", "a_b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mapSpan(t, named(tc.span))
			assert.Equal(t, tc.safe, c.OpSafeName)
			assert.Regexp(t, `^weave:///callhouse/default/op/`+regexpQuote(tc.safe)+`:[0-9a-f]{16}$`, c.OpName)
		})
	}
	t.Run("long names are shortened with a hash suffix", func(t *testing.T) {
		a := mapSpan(t, named(strings.Repeat("x", 200)+"a"))
		b := mapSpan(t, named(strings.Repeat("x", 200)+"b"))
		assert.Len(t, a.OpSafeName, maxSafeName)
		assert.Regexp(t, `^x{119}_[0-9a-f]{8}$`, a.OpSafeName)
		assert.NotEqual(t, a.OpSafeName, b.OpSafeName)
		long := mapSpan(t, named(strings.Repeat("é", 100)))
		assert.LessOrEqual(t, len(long.OpSafeName), maxSafeName)
		assert.True(t, utf8Valid(long.OpSafeName))
	})
	t.Run("digest is stable and follows the op's identity", func(t *testing.T) {
		base := func(_ pcommon.Resource, sc pcommon.InstrumentationScope, s ptrace.Span) {
			sc.SetName("lib")
			sc.SetVersion("1.0")
			s.Attributes().PutStr("code.function.name", "f")
			s.Attributes().PutStr("unrelated", "x")
		}
		digest := func(f spanFn) string { c := mapSpan(t, f); return c.OpName[strings.LastIndexByte(c.OpName, ':')+1:] }
		d0 := digest(base)
		assert.Equal(t, d0, digest(base), "stable")
		assert.Equal(t, d0, digest(func(r pcommon.Resource, sc pcommon.InstrumentationScope, s ptrace.Span) {
			base(r, sc, s)
			s.Attributes().PutStr("unrelated", "y")
			s.SetStartTimestamp(1)
		}), "other attributes do not matter")
		assert.NotEqual(t, d0, digest(func(r pcommon.Resource, sc pcommon.InstrumentationScope, s ptrace.Span) {
			base(r, sc, s)
			sc.SetVersion("1.1")
		}), "scope version")
		assert.NotEqual(t, d0, digest(func(r pcommon.Resource, sc pcommon.InstrumentationScope, s ptrace.Span) {
			base(r, sc, s)
			s.Attributes().PutInt("code.line.number", 3)
		}), "code attributes")
		assert.NotEqual(t, d0, digest(func(r pcommon.Resource, sc pcommon.InstrumentationScope, s ptrace.Span) {
			base(r, sc, s)
			s.SetName("other")
		}), "name")
	})
}

func regexpQuote(s string) string {
	r := strings.NewReplacer(".", `\.`, "-", `\-`)
	return r.Replace(s)
}

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		attrs map[string]string
		want  string
	}{
		{"wandb.display_name first", map[string]string{"wandb.display_name": "Mine", "gen_ai.tool.name": "search"}, "Mine"},
		{"GenAI tool name", map[string]string{"gen_ai.tool.name": "search", "gen_ai.agent.name": "helper"}, "search"},
		{"OpenInference tool name", map[string]string{"tool.name": "calc"}, "calc"},
		{"AI SDK tool name", map[string]string{"ai.toolCall.name": "weather"}, "weather"},
		{"agent name", map[string]string{"gen_ai.agent.name": "planner"}, "planner"},
		{"plain agent.name", map[string]string{"agent.name": "router"}, "router"},
		{"empty display name is absent", map[string]string{"wandb.display_name": "", "agent.name": "router"}, "router"},
		{"none", map[string]string{"x": "y"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mapSpan(t, attrs(func(a pcommon.Map) {
				for k, v := range tc.attrs {
					a.PutStr(k, v)
				}
			}))
			assert.Equal(t, tc.want, c.DisplayName)
			if tc.want != "" {
				assert.Equal(t, tc.want, c.Summary.TraceName)
			} else {
				assert.Equal(t, c.OpSafeName, c.Summary.TraceName)
			}
		})
	}
}

func TestTimesAndStatus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		f         spanFn
		status    Status
		latency   int64
		ended     bool
		exception string
		counts    StatusCounts
	}{
		{"finished", nil, StatusSuccess, 1500, true, "", StatusCounts{Success: 1}},
		{"no end time is running", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) { s.SetEndTimestamp(0) },
			StatusRunning, 0, false, "", StatusCounts{}},
		{"end before start: latency 0, both times kept", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(testStart.Add(-time.Second)))
		}, StatusSuccess, 0, true, "", StatusCounts{Success: 1}},
		{"error with exception event", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			s.Status().SetCode(ptrace.StatusCodeError)
			s.Status().SetMessage("status says")
			ev := s.Events().AppendEmpty()
			ev.SetName("exception")
			ev.Attributes().PutStr("exception.type", "ValueError")
			ev.Attributes().PutStr("exception.message", "bad value")
		}, StatusError, 1500, true, "ValueError: bad value", StatusCounts{Error: 1}},
		{"error, the last exception event wins", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			s.Status().SetCode(ptrace.StatusCodeError)
			for _, typ := range []string{"First", "Last"} {
				ev := s.Events().AppendEmpty()
				ev.SetName("exception")
				ev.Attributes().PutStr("exception.type", typ)
			}
		}, StatusError, 1500, true, "Last", StatusCounts{Error: 1}},
		{"error with only a status message", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			s.Status().SetCode(ptrace.StatusCodeError)
			s.Status().SetMessage("timeout")
		}, StatusError, 1500, true, "timeout", StatusCounts{Error: 1}},
		{"error with no message at all", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			s.Status().SetCode(ptrace.StatusCodeError)
		}, StatusError, 1500, true, "error", StatusCounts{Error: 1}},
		{"error while running is an error", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			s.Status().SetCode(ptrace.StatusCodeError)
			s.SetEndTimestamp(0)
		}, StatusError, 0, false, "error", StatusCounts{Error: 1}},
		{"exception event without error status is no exception", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			ev := s.Events().AppendEmpty()
			ev.SetName("exception")
			ev.Attributes().PutStr("exception.message", "handled")
		}, StatusSuccess, 1500, true, "", StatusCounts{Success: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mapSpan(t, tc.f)
			assert.Equal(t, tc.status, c.Summary.Status)
			assert.Equal(t, tc.latency, c.Summary.LatencyMS)
			assert.Equal(t, testStart, c.StartedAt)
			assert.Equal(t, tc.ended, !c.EndedAt.IsZero())
			assert.Equal(t, tc.exception, c.Exception)
			assert.Equal(t, tc.counts, c.Summary.StatusCounts)
			r := c.ToRecord()
			if tc.status == StatusRunning || !tc.ended {
				requireJSONAt(t, `null`, []byte(r.Summary), "weave", "latency_ms")
			} else {
				requireJSONAt(t, strconvI(tc.latency), []byte(r.Summary), "weave", "latency_ms")
			}
		})
	}
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

func TestInputsAndOutput(t *testing.T) {
	msgs := `[{"role": "user", "content": "hi"}]`
	for _, tc := range []struct {
		name        string
		f           spanFn
		inputs, out string
	}{
		{"nothing: empty inputs, null output", nil, `{}`, `null`},
		{"AI SDK ai.prompt family and ai.response content", attrs(func(a pcommon.Map) {
			a.PutStr("ai.prompt.messages", msgs)
			a.PutStr("ai.prompt.toolChoice", `{"type":"auto"}`)
			a.PutStr("ai.response.text", "hello")
			a.PutStr("ai.response.finishReason", "stop")
		}), `{"ai.prompt":{"messages":[{"role":"user","content":"hi"}],"toolChoice":{"type":"auto"}}}`, `{"ai.response":{"text":"hello"}}`},
		{"AI SDK top-level ai.prompt", attrs(func(a pcommon.Map) { a.PutStr("ai.prompt", `{"prompt":"hi"}`) }), `{"ai.prompt":{"prompt":"hi"}}`, `null`},
		{"indexed gen_ai.prompt and gen_ai.completion", attrs(func(a pcommon.Map) {
			for i, m := range []string{"sys", "hello", "again"} {
				a.PutStr("gen_ai.prompt."+string(rune('0'+i))+".role", []string{"system", "user", "user"}[i])
				a.PutStr("gen_ai.prompt."+string(rune('0'+i))+".content", m)
			}
			a.PutStr("gen_ai.completion.0.role", "assistant")
			a.PutStr("gen_ai.completion.0.content", "hi!")
		}), `{"gen_ai.prompt":[{"content":"sys","role":"system"},{"content":"hello","role":"user"},{"content":"again","role":"user"}]}`,
			`{"gen_ai.completion":[{"content":"hi!","role":"assistant"}]}`},
		{"indexes sort by number", attrs(func(a pcommon.Map) {
			for i := 11; i >= 0; i-- {
				a.PutInt("gen_ai.prompt."+strconvI(int64(i))+".n", int64(i))
			}
		}), `{"gen_ai.prompt":[{"n":0},{"n":1},{"n":2},{"n":3},{"n":4},{"n":5},{"n":6},{"n":7},{"n":8},{"n":9},{"n":10},{"n":11}]}`, `null`},
		{"gapped indexes stay an object", attrs(func(a pcommon.Map) {
			a.PutStr("gen_ai.prompt.0.content", "a")
			a.PutStr("gen_ai.prompt.2.content", "c")
		}), `{"gen_ai.prompt":{"0":{"content":"a"},"2":{"content":"c"}}}`, `null`},
		{"OpenInference input.value and output.value", attrs(func(a pcommon.Map) {
			a.PutStr("input.value", `{"query": "q"}`)
			a.PutStr("output.value", "plain answer")
		}), `{"input.value":{"query":"q"}}`, `{"output.value":"plain answer"}`},
		{"MLflow", attrs(func(a pcommon.Map) {
			a.PutStr("mlflow.spanInputs", `{"x":1}`)
			a.PutStr("mlflow.spanOutputs", `[1,2]`)
		}), `{"mlflow.spanInputs":{"x":1}}`, `{"mlflow.spanOutputs":[1,2]}`},
		{"GenAI semconv messages and system instructions", attrs(func(a pcommon.Map) {
			a.PutStr("gen_ai.input.messages", msgs)
			a.PutStr("gen_ai.system_instructions", `[{"type":"text","content":"be nice"}]`)
			a.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[]}]`)
		}), `{"gen_ai.input.messages":[{"role":"user","content":"hi"}],"gen_ai.system_instructions":[{"type":"text","content":"be nice"}]}`,
			`{"gen_ai.output.messages":[{"role":"assistant","parts":[]}]}`},
		{"pydantic-ai and final_result", attrs(func(a pcommon.Map) {
			a.PutStr("pydantic_ai.all_messages", msgs)
			a.PutStr("final_result", "done")
		}), `{"pydantic_ai.all_messages":[{"role":"user","content":"hi"}]}`, `{"final_result":"done"}`},
		{"traceloop entity", attrs(func(a pcommon.Map) {
			a.PutStr("traceloop.entity.input", `{"inputs":{"q":1}}`)
			a.PutStr("traceloop.entity.output", `{"outputs":2}`)
		}), `{"traceloop.entity.input":{"inputs":{"q":1}}}`, `{"traceloop.entity.output":{"outputs":2}}`},
		{"gen_ai.content.completion", attrs(func(a pcommon.Map) { a.PutStr("gen_ai.content.completion", "x") }), `{}`, `{"gen_ai.content.completion":"x"}`},
		{"Google ADK tool", attrs(func(a pcommon.Map) {
			a.PutStr("gcp.vertex.agent.tool_call_args", `{"city":"Paris"}`)
			a.PutStr("gcp.vertex.agent.tool_response", `{"temp":20}`)
		}), `{"gcp.vertex.agent.tool_call_args":{"city":"Paris"}}`, `{"gcp.vertex.agent.tool_response":{"temp":20}}`},
		{"Google ADK llm", attrs(func(a pcommon.Map) {
			a.PutStr("gcp.vertex.agent.llm_request", `{"model":"g"}`)
			a.PutStr("gcp.vertex.agent.llm_response", `{"text":"t"}`)
		}), `{"gcp.vertex.agent.llm_request":{"model":"g"}}`, `{"gcp.vertex.agent.llm_response":{"text":"t"}}`},
		{"message and choice events", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			ev := s.Events().AppendEmpty()
			ev.SetName("gen_ai.system.message")
			ev.Attributes().PutStr("content", "be brief")
			ev = s.Events().AppendEmpty()
			ev.SetName("gen_ai.user.message")
			ev.Attributes().PutStr("content", `[{"text":"hi"}]`)
			ev = s.Events().AppendEmpty()
			ev.SetName("gen_ai.choice")
			ev.Attributes().PutInt("index", 0)
			ev.Attributes().PutStr("message", `{"content":"yo"}`)
		}, `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"text":"hi"}]}]}`,
			`{"choices":[{"index":0,"message":{"content":"yo"}}]}`},
		{"inference operation details event", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			ev := s.Events().AppendEmpty()
			ev.SetName("gen_ai.client.inference.operation.details")
			ev.Attributes().PutStr("gen_ai.input.messages", msgs)
			ev.Attributes().PutStr("gen_ai.system_instructions", `"sys"`)
			ev.Attributes().PutStr("gen_ai.output.messages", `[{"role":"assistant"}]`)
		}, `{"gen_ai.input.messages":[{"role":"user","content":"hi"}],"gen_ai.system_instructions":"\"sys\""}`,
			`{"gen_ai.output.messages":[{"role":"assistant"}]}`},
		{"details event with the output alone", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			ev := s.Events().AppendEmpty()
			ev.SetName("gen_ai.client.inference.operation.details")
			ev.Attributes().PutStr("gen_ai.output.messages", `[{"role":"assistant"}]`)
		}, `{}`, `{"gen_ai.output.messages":[{"role":"assistant"}]}`},
		{"details event with the input alone", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			ev := s.Events().AppendEmpty()
			ev.SetName("gen_ai.client.inference.operation.details")
			ev.Attributes().PutStr("gen_ai.input.messages", msgs)
		}, `{"gen_ai.input.messages":[{"role":"user","content":"hi"}]}`, `null`},
		{"details event with instructions alone, input from an attribute", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			s.Attributes().PutStr("input.value", "q")
			ev := s.Events().AppendEmpty()
			ev.SetName("gen_ai.client.inference.operation.details")
			ev.Attributes().PutStr("gen_ai.system_instructions", `"sys"`)
		}, `{"input.value":"q","gen_ai.system_instructions":"\"sys\""}`, `null`},
		{"AI SDK tool call", attrs(func(a pcommon.Map) {
			a.PutStr("ai.toolCall.args", `{"a":1}`)
			a.PutStr("ai.toolCall.result", `{"r":2}`)
		}), `{"ai.toolCall.args":{"a":1}}`, `{"ai.toolCall.result":{"r":2}}`},
		{"AI SDK embeddings", attrs(func(a pcommon.Map) {
			a.PutStr("ai.value", `"text"`)
			a.PutStr("ai.embedding", `[0.5,0.25]`)
		}), `{"ai.value":"\"text\""}`, `{"ai.embedding":[0.5,0.25]}`},
		{"plain input and outputs", attrs(func(a pcommon.Map) {
			a.PutStr("input", "in")
			a.PutStr("outputs", "out")
		}), `{"input":"in"}`, `{"outputs":"out"}`},
		{"first match wins in the listed order", attrs(func(a pcommon.Map) {
			a.PutStr("inputs", "last")
			a.PutStr("input.value", "third")
			a.PutStr("gen_ai.prompt.0.content", "second")
			a.PutStr("output", "last")
			a.PutStr("gen_ai.completion.0.content", "second")
			a.PutStr("ai.response.text", "first")
		}), `{"gen_ai.prompt":[{"content":"second"}]}`, `{"ai.response":{"text":"first"}}`},
		{"0, false and empty string are values", attrs(func(a pcommon.Map) {
			a.PutInt("input.value", 0)
			a.PutBool("output.value", false)
		}), `{"input.value":0}`, `{"output.value":false}`},
		{"empty string is a value", attrs(func(a pcommon.Map) { a.PutStr("output.value", "") }), `{}`, `{"output.value":""}`},
		{"invalid JSON stays a string", attrs(func(a pcommon.Map) {
			a.PutStr("input.value", `{"a": 1,}`)
			a.PutStr("output.value", `[not json`)
		}), `{"input.value":"{\"a\": 1,}"}`, `{"output.value":"[not json"}`},
		{"structured values as they are", attrs(func(a pcommon.Map) {
			m := a.PutEmptyMap("input.value")
			m.PutStr("q", "x")
			m.PutEmptySlice("l").AppendEmpty().SetInt(1)
		}), `{"input.value":{"q":"x","l":[1]}}`, `null`},
		{"value beside keys under it", attrs(func(a pcommon.Map) {
			a.PutBool("gen_ai.prompt", true)
			a.PutStr("gen_ai.prompt.content", "x")
		}), `{"gen_ai.prompt":{"_value":true,"content":"x"}}`, `null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mapSpan(t, tc.f)
			assert.JSONEq(t, tc.inputs, string(c.Inputs), "inputs: %s", c.Inputs)
			assert.JSONEq(t, tc.out, string(c.Output), "output: %s", c.Output)
		})
	}
}

func TestConsumedKeysLeaveAttributes(t *testing.T) {
	c := mapSpan(t, func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
		a := s.Attributes()
		a.PutStr("input.value", "q")
		a.PutStr("gen_ai.prompt.0.content", "not chosen") // loses to nothing: ai.prompt absent, gen_ai.prompt wins
		a.PutStr("output.value", "a")
		a.PutStr("ai.response.model", "m")
		a.PutStr("ai.response.text", "chosen")
		ev := s.Events().AppendEmpty()
		ev.SetName("gen_ai.user.message")
		ev.Attributes().PutStr("content", "event")
	})
	assert.JSONEq(t, `{"gen_ai.prompt":[{"content":"not chosen"}]}`, string(c.Inputs))
	assert.JSONEq(t, `{"ai.response":{"text":"chosen"}}`, string(c.Output))
	attrs := jsonAt(t, c.Attributes).(map[string]any)
	assert.Equal(t, "q", attrs["input"].(map[string]any)["value"], "the losing convention stays in attributes")
	assert.Equal(t, "a", attrs["output"].(map[string]any)["value"])
	assert.Nil(t, attrs["gen_ai"], "the chosen convention's keys are not repeated")
	requireJSONAt(t, `{"model":"m"}`, c.Attributes, "ai", "response")
	requireJSONAt(t, `[{"name":"gen_ai.user.message","time":null,"attributes":{"content":"event"}}]`, c.Attributes, "otel", "events")
}

func TestAttributes(t *testing.T) {
	c := mapSpan(t, func(res pcommon.Resource, sc pcommon.InstrumentationScope, s ptrace.Span) {
		res.Attributes().PutStr("service.name", "svc")
		sc.SetName("lib")
		sc.SetVersion("2")
		sc.Attributes().PutStr("scope.attr", "v")
		s.SetKind(ptrace.SpanKindClient)
		s.Status().SetCode(ptrace.StatusCodeOk)
		s.TraceState().FromRaw("k=v")
		s.SetDroppedAttributesCount(3)
		s.SetDroppedEventsCount(4)
		s.SetDroppedLinksCount(5)
		a := s.Attributes()
		a.PutInt("a.b.c", 1)
		a.PutStr("a.b.d", "x")
		a.PutStr("x.0.role", "user")
		a.PutStr("x.1.role", "assistant")
		a.PutInt("p.q", 1)
		a.PutInt("p.q.r", 2)
		a.PutStr(AnnotationKey, "must not appear")
		a.PutStr("wandb.attributes", `{"team": "red", "nested": {"k": 1}}`)
		ev := s.Events().AppendEmpty()
		ev.SetName("note")
		ev.SetTimestamp(pcommon.NewTimestampFromTime(testStart))
		ev.Attributes().PutStr("e.f", "g")
		ev.SetDroppedAttributesCount(1)
		l := s.Links().AppendEmpty()
		l.SetTraceID(testTrace)
		l.SetSpanID(testSpan)
		l.Attributes().PutStr("why", "follows")
	})
	requireJSONAt(t, `{"b":{"c":1,"d":"x"}}`, c.Attributes, "a")
	requireJSONAt(t, `[{"role":"user"},{"role":"assistant"}]`, c.Attributes, "x")
	requireJSONAt(t, `{"q":{"_value":1,"r":2}}`, c.Attributes, "p")
	requireJSONAt(t, `"red"`, c.Attributes, "team")
	requireJSONAt(t, `{"k":1}`, c.Attributes, "nested")
	assert.NotContains(t, string(c.Attributes), "must not appear")
	assert.NotContains(t, string(c.Attributes), `"wandb"`)
	requireJSONAt(t, `{
		"span_kind":"client",
		"status":{"code":"ok"},
		"trace_state":"k=v",
		"resource":{"service":{"name":"svc"}},
		"scope":{"name":"lib","version":"2","attributes":{"scope":{"attr":"v"}}},
		"events":[{"name":"note","time":"2026-01-02T03:04:05Z","attributes":{"e":{"f":"g"}},"dropped_attributes_count":1}],
		"links":[{"trace_id":"abcdef0102030405060708090a0b0c0d","span_id":"deadbeef00010203","attributes":{"why":"follows"}}],
		"dropped_attributes_count":3,"dropped_events_count":4,"dropped_links_count":5
	}`, c.Attributes, "otel")
}

func TestWandbAttributesAsKVList(t *testing.T) {
	c := mapSpan(t, attrs(func(a pcommon.Map) {
		m := a.PutEmptyMap("wandb.attributes")
		m.PutStr("team", "blue")
		m.PutInt("deep.key", 2)
	}))
	requireJSONAt(t, `"blue"`, c.Attributes, "team")
	requireJSONAt(t, `{"key":2}`, c.Attributes, "deep")
	c = mapSpan(t, attrs(func(a pcommon.Map) { a.PutStr("wandb.attributes", "not an object") }))
	requireJSONAt(t, `{"attributes":"not an object"}`, c.Attributes, "wandb")
}

func TestValueKinds(t *testing.T) {
	c := mapSpan(t, attrs(func(a pcommon.Map) {
		a.PutStr("v.str", "s\"q\n\x01")
		a.PutBool("v.bool", true)
		a.PutInt("v.int", -7)
		a.PutDouble("v.double", 0.25)
		a.PutDouble("v.big", 1e300)
		a.PutDouble("v.tiny", 1e-9)
		a.PutDouble("v.nan", math.NaN())
		a.PutDouble("v.inf", math.Inf(1))
		a.PutDouble("v.ninf", math.Inf(-1))
		a.PutEmptyBytes("v.bytes").FromRaw([]byte{0, 1, 2, 0xff})
		sl := a.PutEmptySlice("v.array")
		sl.AppendEmpty().SetStr("a")
		sl.AppendEmpty().SetInt(1)
		sl.AppendEmpty()
		m := a.PutEmptyMap("v.kvlist")
		m.PutStr("dotted.key", "kept literally")
		a.PutEmpty("v.empty")
	}))
	requireJSONAt(t, `{
		"str":"s\"q\n\u0001","bool":true,"int":-7,"double":0.25,"big":1e+300,"tiny":1e-9,
		"nan":"NaN","inf":"Infinity","ninf":"-Infinity",
		"bytes":"AAEC/w==","array":["a",1,null],"kvlist":{"dotted.key":"kept literally"},"empty":null
	}`, c.Attributes, "v")
	assert.Contains(t, string(c.Attributes), `"tiny":1e-9`)
}

func TestNormalizedAttributes(t *testing.T) {
	c := mapSpan(t, attrs(func(a pcommon.Map) {
		a.PutStr("gen_ai.operation.name", "execute_tool")
		a.PutStr("gen_ai.request.model", "req-model")
		a.PutStr("gen_ai.system", "openai")
		a.PutDouble("gen_ai.request.temperature", 0.5)
		a.PutInt("gen_ai.request.max_tokens", 100)
		a.PutStr("llm.invocation_parameters", `{"top_p": 0.9}`)
		a.PutInt("ai.settings.maxRetries", 2)
		a.PutStr("gen_ai.tool.name", "search")
		a.PutStr("gen_ai.tool.call.id", "call_1")
		a.PutStr("gen_ai.agent.name", "planner")
		a.PutStr("gen_ai.tool.definitions", `[{"name":"search"}]`)
		a.PutStr("gen_ai.system_instructions", "be kind")
	}))
	attrs := jsonAt(t, c.Attributes).(map[string]any)
	assert.Equal(t, "tool", attrs["kind"])
	assert.Equal(t, "req-model", attrs["model"])
	assert.Equal(t, "openai", attrs["provider"])
	assert.Equal(t, "execute_tool", attrs["operation"])
	assert.Equal(t, "be kind", attrs["system"])
	requireJSONAt(t, `{"temperature":0.5,"max_tokens":100,"top_p":0.9,"maxRetries":2}`, c.Attributes, "model_parameters")
	requireJSONAt(t, `{"name":"search","call_id":"call_1"}`, c.Attributes, "tool")
	requireJSONAt(t, `{"name":"planner"}`, c.Attributes, "agent")
	requireJSONAt(t, `[{"name":"search"}]`, c.Attributes, "tools")
	requireJSONAt(t, `"req-model"`, c.Attributes, "gen_ai", "request", "model")
	assert.Equal(t, "tool", c.Kind)
	assert.Equal(t, "req-model", c.Model)
	assert.Equal(t, "openai", c.Provider)
	assert.Equal(t, "execute_tool", c.Operation)
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		attrs map[string]string
		want  string
	}{
		{map[string]string{"openinference.span.kind": "LLM", "gen_ai.operation.name": "execute_tool"}, "llm"},
		{map[string]string{"openinference.span.kind": "RETRIEVER"}, "retriever"},
		{map[string]string{"traceloop.span.kind": "workflow"}, "chain"},
		{map[string]string{"traceloop.span.kind": "tool"}, "tool"},
		{map[string]string{"llm.request.type": "chat"}, "llm"},
		{map[string]string{"gen_ai.operation.name": "chat"}, "llm"},
		{map[string]string{"gen_ai.operation.name": "text_completion"}, "llm"},
		{map[string]string{"gen_ai.operation.name": "execute_tool"}, "tool"},
		{map[string]string{"gen_ai.operation.name": "invoke_agent"}, "agent"},
		{map[string]string{"gen_ai.operation.name": "create_agent"}, "agent"},
		{map[string]string{"gen_ai.operation.name": "embeddings"}, "embedding"},
		{map[string]string{"ai.operationId": "ai.generateText.doGenerate"}, "llm"},
		{map[string]string{"ai.operationId": "ai.streamText.doStream"}, "llm"},
		{map[string]string{"ai.operationId": "ai.toolCall"}, "tool"},
		{map[string]string{"ai.operationId": "ai.embed.doEmbed"}, "embedding"},
		{map[string]string{"ai.operationId": "ai.generateText"}, "chain"},
		{map[string]string{"openinference.span.kind": "UNKNOWN", "gen_ai.operation.name": "chat"}, "llm"},
		{map[string]string{"x": "y"}, ""},
	} {
		c := mapSpan(t, attrs(func(a pcommon.Map) {
			for k, v := range tc.attrs {
				a.PutStr(k, v)
			}
		}))
		assert.Equal(t, tc.want, c.Kind, "%v", tc.attrs)
	}
}

func TestModelAndProvider(t *testing.T) {
	for _, tc := range []struct {
		attrs           map[string]string
		model, provider string
	}{
		{map[string]string{"gen_ai.response.model": "resp", "gen_ai.request.model": "req", "llm.model_name": "oi"}, "resp", ""},
		{map[string]string{"gen_ai.request.model": "req", "llm.model_name": "oi"}, "req", ""},
		{map[string]string{"llm.model_name": "oi", "ai.model.id": "sdk"}, "oi", ""},
		{map[string]string{"ai.response.model": "sdkresp", "ai.model.id": "sdk"}, "sdkresp", ""},
		{map[string]string{"ai.model.id": "sdk", "ai.model.provider": "openai.chat"}, "sdk", "openai.chat"},
		{map[string]string{"gen_ai.provider.name": "a", "gen_ai.system": "b"}, "", "a"},
		{map[string]string{"gen_ai.system": "b", "llm.provider": "c"}, "", "b"},
		{map[string]string{"llm.provider": "c", "llm.system": "d"}, "", "c"},
		{map[string]string{"llm.system": "d", "ai.model.provider": "e"}, "", "d"},
	} {
		c := mapSpan(t, attrs(func(a pcommon.Map) {
			for k, v := range tc.attrs {
				a.PutStr(k, v)
			}
		}))
		assert.Equal(t, tc.model, c.Model, "%v", tc.attrs)
		assert.Equal(t, tc.provider, c.Provider, "%v", tc.attrs)
	}
}

func TestUsage(t *testing.T) {
	type kvs = map[string]any
	for _, tc := range []struct {
		name  string
		attrs kvs
		want  Usage
	}{
		{"GenAI", kvs{"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}, Usage{Requests: 1, InputTokens: 10, OutputTokens: 5, TotalTokens: 15}},
		{"GenAI older names", kvs{"gen_ai.usage.prompt_tokens": 10, "gen_ai.usage.completion_tokens": 5}, Usage{Requests: 1, InputTokens: 10, OutputTokens: 5, TotalTokens: 15}},
		{"one naming pair only", kvs{"gen_ai.usage.input_tokens": 10, "gen_ai.usage.prompt_tokens": 10, "gen_ai.usage.output_tokens": 5, "gen_ai.usage.completion_tokens": 5}, Usage{Requests: 1, InputTokens: 10, OutputTokens: 5, TotalTokens: 15}},
		{"GenAI cache", kvs{"gen_ai.usage.input_tokens": 10, "gen_ai.usage.cache_read.input_tokens": 4, "gen_ai.usage.cache_creation.input_tokens": 2}, Usage{Requests: 1, InputTokens: 10, TotalTokens: 10, CacheReadInputTokens: 4, CacheCreationInputTokens: 2}},
		{"OpenInference with total", kvs{"llm.token_count.prompt": 7, "llm.token_count.completion": 3, "llm.token_count.total": 11, "llm.token_count.prompt_details.cache_read": 2, "llm.token_count.completion_details.reasoning": 1}, Usage{Requests: 1, InputTokens: 7, OutputTokens: 3, TotalTokens: 11, CacheReadInputTokens: 2, ReasoningTokens: 1}},
		{"Traceloop total", kvs{"gen_ai.usage.prompt_tokens": 1, "llm.usage.total_tokens": 9}, Usage{Requests: 1, InputTokens: 1, TotalTokens: 9}},
		{"AI SDK 4", kvs{"ai.usage.promptTokens": 8, "ai.usage.completionTokens": 2}, Usage{Requests: 1, InputTokens: 8, OutputTokens: 2, TotalTokens: 10}},
		{"AI SDK 5", kvs{"ai.usage.inputTokens": 8, "ai.usage.outputTokens": 2, "ai.usage.totalTokens": 10, "ai.usage.reasoningTokens": 1, "ai.usage.cachedInputTokens": 3}, Usage{Requests: 1, InputTokens: 8, OutputTokens: 2, TotalTokens: 10, ReasoningTokens: 1, CacheReadInputTokens: 3}},
		{"AI SDK embedding tokens", kvs{"ai.usage.tokens": 3}, Usage{Requests: 1, InputTokens: 3, TotalTokens: 3}},
		{"zero counts are usage", kvs{"gen_ai.usage.input_tokens": 0, "gen_ai.usage.output_tokens": 0}, Usage{Requests: 1}},
		{"counts as strings and integral doubles", kvs{"gen_ai.usage.input_tokens": "12", "gen_ai.usage.output_tokens": 3.0}, Usage{Requests: 1, InputTokens: 12, OutputTokens: 3, TotalTokens: 15}},
		{"negative or fractional counts are not counts", kvs{"gen_ai.usage.input_tokens": -1, "gen_ai.usage.prompt_tokens": 2.5, "llm.token_count.prompt": 4}, Usage{Requests: 1, InputTokens: 4, TotalTokens: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mapSpan(t, attrs(func(a pcommon.Map) {
				a.PutStr("gen_ai.request.model", "m1")
				require.NoError(t, a.FromRaw(mergeRaw(a.AsRaw(), tc.attrs)))
			}))
			require.Len(t, c.Summary.Usage, 1)
			assert.Equal(t, ModelUsage{Model: "m1", Usage: tc.want}, c.Summary.Usage[0])
			assert.Equal(t, tc.want.InputTokens, c.InputTokens)
			assert.Equal(t, tc.want.OutputTokens, c.OutputTokens)
			assert.Equal(t, tc.want.TotalTokens, c.TotalTokens)
		})
	}
	t.Run("no usage", func(t *testing.T) {
		c := mapSpan(t, nil)
		assert.Empty(t, c.Summary.Usage)
		assert.NotContains(t, c.ToRecord().Summary, `"usage"`)
	})
	t.Run("no model", func(t *testing.T) {
		c := mapSpan(t, attrs(func(a pcommon.Map) { a.PutInt("gen_ai.usage.input_tokens", 1) }))
		assert.Equal(t, unknownModel, c.Summary.Usage[0].Model)
	})
}

func mergeRaw(a, b map[string]any) map[string]any {
	for k, v := range b {
		if i, ok := v.(int); ok {
			v = int64(i)
		}
		a[k] = v
	}
	return a
}

func TestCosts(t *testing.T) {
	usage := func(model string) func(a pcommon.Map) {
		return func(a pcommon.Map) {
			a.PutStr("gen_ai.response.model", model)
			a.PutStr("gen_ai.provider.name", "testco")
			a.PutInt("gen_ai.usage.input_tokens", 1000)
			a.PutInt("gen_ai.usage.output_tokens", 100)
		}
	}
	t.Run("priced from the table", func(t *testing.T) {
		c := mapSpan(t, attrs(usage("test-model")))
		require.Len(t, c.Summary.Costs, 1)
		got := c.Summary.Costs[0]
		assert.Equal(t, "test-model", got.Model)
		assert.InDelta(t, 1000*2e-6, got.PromptTokensTotalCost, 1e-12)
		assert.InDelta(t, 100*8e-6, got.CompletionTokensTotalCost, 1e-12)
		assert.InDelta(t, 0.0028, got.TotalCost, 1e-12)
		assert.Equal(t, "config", got.PricingLevel)
		assert.Equal(t, "testco", got.ProviderID)
		assert.Equal(t, "2026-01-01", got.EffectiveDate)
		assert.True(t, c.HasCost)
		assert.InDelta(t, 0.0028, c.CostUSD, 1e-12)
	})
	t.Run("cache reads priced at the cache price", func(t *testing.T) {
		c := mapSpan(t, attrs(func(a pcommon.Map) {
			usage("test-model")(a)
			a.PutInt("gen_ai.usage.cache_read.input_tokens", 400)
		}))
		got := c.Summary.Costs[0]
		assert.InDelta(t, 600*2e-6, got.PromptTokensTotalCost, 1e-12)
		assert.InDelta(t, 400*1e-6, got.CacheReadTokensTotalCost, 1e-12)
		assert.InDelta(t, 600*2e-6+400*1e-6+100*8e-6, got.TotalCost, 1e-12)
	})
	t.Run("unknown model has no cost entry", func(t *testing.T) {
		c := mapSpan(t, attrs(usage("no-such-model-xyz")))
		assert.Empty(t, c.Summary.Costs)
		assert.False(t, c.HasCost)
		assert.NotContains(t, c.ToRecord().Summary, `"costs"`)
	})
	t.Run("app-provided cost wins", func(t *testing.T) {
		c := mapSpan(t, attrs(func(a pcommon.Map) {
			usage("test-model")(a)
			a.PutDouble("gen_ai.usage.cost", 0.5)
		}))
		got := c.Summary.Costs[0]
		assert.Equal(t, "app", got.PricingLevel)
		assert.InDelta(t, 0.5, got.TotalCost, 1e-12)
		assert.InDelta(t, 0.5, c.CostUSD, 1e-12)
	})
	t.Run("app cost parts", func(t *testing.T) {
		c := mapSpan(t, attrs(func(a pcommon.Map) {
			usage("no-such-model-xyz")(a)
			a.PutDouble("llm.cost.prompt", 0.25)
			a.PutStr("llm.cost.completion", "0.5")
		}))
		got := c.Summary.Costs[0]
		assert.InDelta(t, 0.75, got.TotalCost, 1e-12)
		assert.Equal(t, "app", got.PricingLevel)
	})
}

func TestCustomSummary(t *testing.T) {
	c := mapSpan(t, attrs(func(a pcommon.Map) {
		a.PutDouble("weave.summary.accuracy", 0.95)
		a.PutStr("weave.summary.eval.grader", "exact")
		a.PutStr("weave.summary.usage", "hijack")
		a.PutStr("weave.summary.weave.status", "hijack")
		a.PutInt("weave.summary.status_counts", 9)
	}))
	assert.JSONEq(t, `{"accuracy":0.95,"eval":{"grader":"exact"}}`, string(c.Summary.Custom))
	r := c.ToRecord()
	requireJSONAt(t, `0.95`, []byte(r.Summary), "accuracy")
	requireJSONAt(t, `{"status":"success","latency_ms":1500,"trace_name":"op"}`, []byte(r.Summary), "weave")
	requireJSONAt(t, `{"success":1,"error":0}`, []byte(r.Summary), "status_counts")
	requireJSONAt(t, `{"accuracy":0.95,"eval":{"grader":"exact"},"usage":"hijack","weave":{"status":"hijack"},"status_counts":9}`, c.Attributes, "weave", "summary")

	off := DefaultConfig()
	off.SummaryPrefix = ""
	c = mapWith(t, testMapper(t, off), attrs(func(a pcommon.Map) { a.PutDouble("weave.summary.accuracy", 0.95) }))
	assert.Nil(t, c.Summary.Custom)
}

func TestSummaryJSON(t *testing.T) {
	s := Summary{
		Custom: []byte(`{"a":1}`),
		Usage:  []ModelUsage{{Model: "m", Usage: Usage{Requests: 1, InputTokens: 3, OutputTokens: 4, TotalTokens: 7, ReasoningTokens: 2}}},
		Costs: []ModelCost{{Model: "m", Cost: Cost{PromptTokens: 3, CompletionTokens: 4, Requests: 1, TotalTokens: 7,
			PromptTokenCost: 0.5, CompletionTokenCost: 1, PromptTokensTotalCost: 1.5, CompletionTokensTotalCost: 4, TotalCost: 5.5,
			ProviderID: "p", PricingLevel: "default", EffectiveDate: "2025-01-01"}}},
		Status: StatusSuccess, LatencyMS: 12, TraceName: "t", StatusCounts: StatusCounts{Success: 2, Error: 1},
	}
	want := `{"a":1,"usage":{"m":{"requests":1,"input_tokens":3,"output_tokens":4,"total_tokens":7,"reasoning_tokens":2}},` +
		`"status_counts":{"success":2,"error":1},"weave":{"status":"success","latency_ms":12,"trace_name":"t","costs":{"m":{` +
		`"prompt_tokens":3,"completion_tokens":4,"requests":1,"total_tokens":7,"prompt_token_cost":0.5,"completion_token_cost":1,` +
		`"prompt_tokens_total_cost":1.5,"completion_tokens_total_cost":4,"total_cost":5.5,"provider_id":"p","pricing_level":"default",` +
		`"effective_date":"2025-01-01","prompt_token_cost_unit":"USD","completion_token_cost_unit":"USD"}}}}`
	assert.Equal(t, want, string(s.AppendJSON(nil)))
	s = Summary{Status: StatusRunning, TraceName: "r"}
	assert.Equal(t, `{"status_counts":{"success":0,"error":0},"weave":{"status":"running","latency_ms":null,"trace_name":"r"}}`, string(s.AppendJSON(nil)))
}

func TestThreadsAndWandb(t *testing.T) {
	for _, key := range []string{"gen_ai.conversation.id", "wandb.thread_id", "session.id", "langfuse.session.id",
		"ai.telemetry.metadata.sessionId", "traceloop.association.properties.session_id", "gcp.vertex.agent.session_id"} {
		c := mapSpan(t, attrs(func(a pcommon.Map) { a.PutStr(key, "th-1") }))
		assert.Equal(t, "th-1", c.ThreadID, key)
	}
	c := mapSpan(t, func(r pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
		r.Attributes().PutStr("session.id", "from-resource")
		r.Attributes().PutStr("wandb.user_id", "u-res")
		s.Attributes().PutStr("session.id", "from-span")
		s.Attributes().PutBool("wandb.is_turn", true)
		s.Attributes().PutStr("wandb.run_id", "run-1")
	})
	assert.Equal(t, "from-span", c.ThreadID)
	assert.True(t, c.IsTurn)
	assert.Equal(t, "u-res", c.WBUserID)
	assert.Equal(t, "run-1", c.WBRunID)
	c = mapSpan(t, func(r pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
		r.Attributes().PutStr("gen_ai.conversation.id", "from-resource")
		s.Attributes().PutStr("wandb.is_turn", "false")
		s.Attributes().PutStr("wandb.wb_run_id", "wb")
		s.Attributes().PutStr("wandb.run_id", "plain")
	})
	assert.Equal(t, "from-resource", c.ThreadID)
	assert.False(t, c.IsTurn)
	assert.Equal(t, "wb", c.WBRunID)
}

func TestLimits(t *testing.T) {
	t.Run("10 MB value is cut at a UTF-8 boundary with a marker", func(t *testing.T) {
		big := strings.Repeat("é", 5<<20) // 10 MB of two-byte runes
		c := mapSpan(t, attrs(func(a pcommon.Map) {
			a.PutStr("input.value", big)
			a.PutStr("other", "x"+big)
		}))
		in := jsonAt(t, c.Inputs, "input.value").(string)
		assert.True(t, strings.HasSuffix(in, "…[truncated 10485760 bytes]"), in[len(in)-40:])
		assert.LessOrEqual(t, len(in), DefaultConfig().MaxValueBytes+64)
		assert.True(t, utf8Valid(in))
		other := jsonAt(t, c.Attributes, "other").(string)
		assert.True(t, strings.HasPrefix(other, "xéé"))
		assert.True(t, strings.HasSuffix(other, "…[truncated 10485761 bytes]"))
	})
	t.Run("JSON longer than the cap stays a cut string", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.MaxValueBytes = 64
		c := mapWith(t, testMapper(t, cfg), attrs(func(a pcommon.Map) {
			a.PutStr("input.value", `{"k":"`+strings.Repeat("v", 100)+`"}`)
			a.PutEmptyBytes("b").FromRaw(make([]byte, 100))
		}))
		s := jsonAt(t, c.Inputs, "input.value").(string)
		assert.True(t, strings.HasSuffix(s, "…[truncated 108 bytes]"), s)
		assert.True(t, strings.HasSuffix(jsonAt(t, c.Attributes, "b").(string), "…[truncated 100 bytes]"))
	})
	t.Run("no limit", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.MaxValueBytes = 0
		c := mapWith(t, testMapper(t, cfg), attrs(func(a pcommon.Map) { a.PutStr("input.value", strings.Repeat("a", 2<<20)) }))
		assert.Len(t, jsonAt(t, c.Inputs, "input.value").(string), 2<<20)
	})
	t.Run("invalid UTF-8 becomes U+FFFD", func(t *testing.T) {
		c := mapSpan(t, func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) {
			s.SetName("bad\xc3name")
			s.Attributes().PutStr("input.value", "in\xff\xfe")
			s.Attributes().PutStr("k\x80ey", `{"x":"`+"\xff"+`"}`)
			s.Attributes().PutStr("gen_ai.agent.name", "ag\xe2\x82")
		})
		assert.Equal(t, "in\uFFFD\uFFFD", jsonAt(t, c.Inputs, "input.value"))
		assert.Equal(t, `{"x":"`+"\uFFFD"+`"}`, jsonAt(t, c.Attributes, "k\uFFFDey"))
		assert.Equal(t, "bad_name", c.OpSafeName)
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestDuplicateKeys(t *testing.T) {
	c := mapSpan(t, attrs(func(a pcommon.Map) {
		a.PutStr("tool.name", "a")
		a.PutStr("x.y", "1")
		a.PutStr("x.y.z", "2")
		a.PutStr("x.y._value", "3")
	}))
	requireJSONAt(t, `{"y":{"__value":"1","_value":"3","z":"2"}}`, c.Attributes, "x")
	requireJSONAt(t, `{"name":"a"}`, c.Attributes, "tool")
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, DefaultConfig().Validate())
	cfg := Config{DefaultEntity: "", DefaultProject: "a/b", SummaryPrefix: "x\x00", MaxValueBytes: -1}
	before := cfg
	err := cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{"default_entity: must not be empty", "default_project", "summary_prefix", "max_value_bytes"} {
		assert.Contains(t, err.Error(), want)
	}
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	assert.Len(t, joined.Unwrap(), 4)
	assert.Equal(t, before, cfg, "Validate must not mutate")
	assert.ErrorContains(t, Config{DefaultEntity: "e", MaxValueBytes: 10}.Validate(), "below the minimum")
	assert.ErrorContains(t, Config{DefaultEntity: " e"}.Validate(), "spaces")
	bad := DefaultConfig()
	bad.Prices = pricing.Config{Overrides: map[string]pricing.Override{"m": {InputCostPerToken: -1}}}
	assert.ErrorContains(t, bad.Validate(), "prices")
}

func TestRecordAndAnnotation(t *testing.T) {
	res, scope, span := build(attrs(func(a pcommon.Map) {
		a.PutStr("gen_ai.request.model", "test-model")
		a.PutInt("gen_ai.usage.input_tokens", 10)
		a.PutStr("session.id", "s")
	}))
	c := testMapper(t, DefaultConfig()).Map(res, scope, span)
	r := c.ToRecord()
	assert.Equal(t, string(c.Inputs), r.Inputs)
	assert.Equal(t, "null", r.Output)
	assert.Equal(t, int64(1500), r.LatencyMS)
	assert.True(t, r.HasCost)
	Annotate(span, &r)
	got, ok := FromAnnotation(span)
	require.True(t, ok)
	assert.Equal(t, r, got)
	// an annotated span maps to the same call: the annotation is never an attribute
	again := testMapper(t, DefaultConfig()).Map(res, scope, span)
	assert.Equal(t, string(c.Attributes), string(again.Attributes))
}

func TestMarshalJSON(t *testing.T) {
	c := mapSpan(t, func(_ pcommon.Resource, _ pcommon.InstrumentationScope, s ptrace.Span) { s.SetEndTimestamp(0) })
	b, err := c.MarshalJSON()
	require.NoError(t, err)
	for _, k := range []string{"parent_id", "display_name", "ended_at", "exception", "thread_id", "turn_id", "wb_user_id", "wb_run_id", "deleted_at", "cost_usd"} {
		assert.Nil(t, jsonAt(t, b, k), k)
	}
	assert.Equal(t, "2026-01-02T03:04:05.000000Z", jsonAt(t, b, "started_at"))
	requireJSONAt(t, `{}`, b, "inputs")
	requireJSONAt(t, `"running"`, b, "summary", "weave", "status")
}

func TestOTelKeysMergeWithSpanAttributes(t *testing.T) {
	c := mapSpan(t, func(_ pcommon.Resource, sc pcommon.InstrumentationScope, s ptrace.Span) {
		sc.SetName("lib")
		s.Attributes().PutStr("otel.library.name", "old-style")
		s.Attributes().PutStr("otel.scope.name", "from-attribute")
	})
	requireJSONAt(t, `{"library":{"name":"old-style"},"scope":{"name":{"_value":["lib","from-attribute"]}},"span_kind":"unspecified","status":{"code":"unset"}}`, c.Attributes, "otel")
}

func TestResourceCacheFollowsChanges(t *testing.T) {
	m := testMapper(t, DefaultConfig())
	res, scope, span := build(nil)
	res.Attributes().PutStr("wandb.project", "one")
	assert.Equal(t, "callhouse/one", m.Map(res, scope, span).ProjectID)
	assert.Equal(t, "callhouse/one", m.Map(res, scope, span).ProjectID)
	res.Attributes().PutStr("wandb.project", "two") // changed in place
	c := m.Map(res, scope, span)
	assert.Equal(t, "callhouse/two", c.ProjectID)
	requireJSONAt(t, `{"project":"two"}`, c.Attributes, "otel", "resource", "wandb")
	res.Attributes().PutEmptySlice("list").AppendEmpty().SetStr("x") // not cacheable
	c = m.Map(res, scope, span)
	requireJSONAt(t, `["x"]`, c.Attributes, "otel", "resource", "list")
	res.Attributes().Remove("list")
	res.SetDroppedAttributesCount(2)
	c = m.Map(res, scope, span)
	requireJSONAt(t, `2`, c.Attributes, "otel", "resource_dropped_attributes_count")
}

func TestConcurrentMapMatchesSequential(t *testing.T) {
	m := testMapper(t, DefaultConfig())
	type input struct {
		res   pcommon.Resource
		scope pcommon.InstrumentationScope
		span  ptrace.Span
	}
	var inputs []input
	for i := range 8 {
		res, scope, span := build(attrs(func(a pcommon.Map) {
			a.PutStr("input.value", strings.Repeat("x", i))
			a.PutStr("gen_ai.request.model", "test-model")
			a.PutInt("gen_ai.usage.input_tokens", int64(i))
		}))
		res.Attributes().PutStr("wandb.project", "p"+strconv.Itoa(i))
		inputs = append(inputs, input{res, scope, span})
	}
	want := make([]string, len(inputs))
	for i, in := range inputs {
		c := m.Map(in.res, in.scope, in.span)
		b, _ := c.MarshalJSON()
		want[i] = string(b)
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for n := range 200 {
				i := (n + g) % len(inputs)
				c := m.Map(inputs[i].res, inputs[i].scope, inputs[i].span)
				if b, _ := c.MarshalJSON(); string(b) != want[i] {
					errs <- errors.New("concurrent result differs for input " + strconv.Itoa(i))
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
}

// TestCachesFollowChanges maps spans that differ in one input each, one
// after the other through one mapper (its caches: resource facts, op refs,
// the otel object, shapes), and checks each call against a fresh mapper's.
func TestCachesFollowChanges(t *testing.T) {
	base := func(res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) {
		res.Attributes().PutStr("service.name", "svc")
		scope.SetName("inst")
		scope.SetVersion("1.0")
		span.SetKind(ptrace.SpanKindClient)
		a := span.Attributes()
		a.PutStr("gen_ai.request.model", "test-model")
		a.PutStr("gen_ai.system_instructions", `[{"type":"text","content":"be brief"}]`)
		a.PutStr("code.function.name", "answer")
	}
	variants := map[string]spanFn{
		"base":          func(pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) {},
		"scope name":    func(_ pcommon.Resource, s pcommon.InstrumentationScope, _ ptrace.Span) { s.SetName("other") },
		"scope version": func(_ pcommon.Resource, s pcommon.InstrumentationScope, _ ptrace.Span) { s.SetVersion("2.0") }, // as long as the base's
		"scope split": func(_ pcommon.Resource, s pcommon.InstrumentationScope, _ ptrace.Span) {
			s.SetName("inst1.")
			s.SetVersion("0")
		},
		"kind": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			sp.SetKind(ptrace.SpanKindServer)
		},
		"status": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			sp.Status().SetCode(ptrace.StatusCodeOk)
		},
		"status message": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage("boom")
		},
		"flags": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) { sp.SetFlags(0x100) },
		"trace state": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			sp.TraceState().FromRaw("a=b")
		},
		"resource": func(r pcommon.Resource, _ pcommon.InstrumentationScope, _ ptrace.Span) {
			r.Attributes().PutStr("service.name", "svc2")
		},
		"entity": func(r pcommon.Resource, _ pcommon.InstrumentationScope, _ ptrace.Span) {
			r.Attributes().PutStr("wandb.entity", "e2")
		},
		"project": func(r pcommon.Resource, _ pcommon.InstrumentationScope, _ ptrace.Span) {
			r.Attributes().PutStr("wandb.project", "e2/p")
		},
		"name": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) { sp.SetName("op 2") },
		"code": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			sp.Attributes().PutStr("code.function.name", "ask")
		},
		"otel key": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			sp.Attributes().PutStr("otel.note", "x")
		},
		"event": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			sp.Events().AppendEmpty().SetName("log")
		},
		"system": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			sp.Attributes().PutStr("gen_ai.system_instructions", "plain")
		},
		"no system": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			sp.Attributes().Remove("gen_ai.system_instructions")
		},
		// other attribute layouts: the same first key and count as the
		// base's, then more layouts than a state remembers
		"layout same start": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			a := sp.Attributes()
			a.Clear()
			a.PutStr("gen_ai.request.model", "test-model")
			a.PutDouble("gen_ai.request.temperature", 0.5)
			a.PutStr("weave.summary.grader", "exact")
		},
	}
	for i := range 5 {
		variants["layout "+strconv.Itoa(i)] = func(_ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) {
			a := sp.Attributes()
			a.Clear()
			a.PutStr("k"+strconv.Itoa(i), "v")
			a.PutInt("gen_ai.request.top_k", int64(i))
			a.PutStr("gen_ai.prompt.0.content", "hi")
		}
	}
	names := make([]string, 0, len(variants))
	for name := range variants {
		names = append(names, name)
	}
	slices.Sort(names)
	mapOf := func(m *Mapper, name string) string {
		c := m.Map(build(func(res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) {
			base(res, scope, span)
			variants[name](res, scope, span)
		}))
		b, err := c.MarshalJSON()
		require.NoError(t, err)
		return string(b)
	}
	want := map[string]string{}
	for _, name := range names {
		want[name] = mapOf(testMapper(t, DefaultConfig()), name)
	}
	m := testMapper(t, DefaultConfig())
	var seq []string // the variants in order, then backwards with the base span after each
	for _, name := range names {
		seq = append(seq, name)
	}
	for i := range names {
		seq = append(seq, names[len(names)-1-i], "base")
	}
	for i, name := range seq {
		require.Equal(t, want[name], mapOf(m, name), "span %d: %s", i, name)
	}
}
