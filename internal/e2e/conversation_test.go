package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/callhouse/callhouse/internal/agentsim"
)

// TestAgentConversation sends a three-turn agent conversation of two
// services with the OpenTelemetry Go SDK over each OTLP transport and checks
// the calls: ids and tree, thread and turn ids on every call, errors and
// descendant_error, token usage and cost roll-ups, custom summary values.
func TestAgentConversation(t *testing.T) {
	tests := []struct {
		name     string
		exporter func(ctx context.Context, c *collector) (sdktrace.SpanExporter, error)
	}{
		{"grpc", func(ctx context.Context, c *collector) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(c.ep.OTLPGRPC), otlptracegrpc.WithInsecure())
		}},
		{"http-protobuf", func(ctx context.Context, c *collector) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(c.ep.OTLPHTTP), otlptracehttp.WithInsecure())
		}},
		{"http-json", func(ctx context.Context, c *collector) (sdktrace.SpanExporter, error) {
			// The Go SDK only sends protobuf; the round tripper re-encodes
			// its requests as OTLP JSON (and the answers back).
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(c.ep.OTLPHTTP), otlptracehttp.WithInsecure(),
				otlptracehttp.WithHTTPClient(&http.Client{Transport: jsonTranscoder{http.DefaultTransport}}))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := startCollector(t, collectorOptions{})
			conn := clickhouseConn(t)

			conv := sendConversation(t, func() (sdktrace.SpanExporter, error) { return tt.exporter(ctx, c) }, "e2e", "thread-"+tt.name)

			got := waitForCalls(t, conn, c.database, uint64(conv.Spans()))
			if got.Rows != uint64(conv.Spans()) || got.Distinct != got.Rows {
				t.Fatalf("weave.calls: %d rows, %d distinct ids; want %d of each", got.Rows, got.Distinct, conv.Spans())
			}
			checkConversation(t, conv, callsByID(t, conn, c.database))
		})
	}
}

// sendConversation sends agentsim's three-turn conversation of two services,
// each service through its own exporter from newExporter, and waits until
// the SDK has sent everything.
func sendConversation(t *testing.T, newExporter func() (sdktrace.SpanExporter, error), scope, threadID string) agentsim.Conversation {
	t.Helper()
	ctx := context.Background()
	providers := map[string]*agentsim.Provider{}
	for _, service := range []string{agentsim.AgentService, agentsim.ToolService} {
		exp, err := newExporter()
		if err != nil {
			t.Fatal(err)
		}
		providers[service] = agentsim.NewProvider(exp, service)
	}
	conv := agentsim.Run(ctx, agentsim.Tracers{
		Agent: providers[agentsim.AgentService].Tracer(scope),
		Tools: providers[agentsim.ToolService].Tracer(scope),
	}, threadID, 3, time.Now().Add(-time.Minute))
	for service, p := range providers {
		if err := p.Shutdown(ctx); err != nil {
			t.Fatalf("%s: sending: %v", service, err)
		}
	}
	return conv
}

func checkConversation(t *testing.T, conv agentsim.Conversation, calls map[string]call) {
	t.Helper()
	project := agentsim.Entity + "/" + agentsim.Project
	for i, turn := range conv.Turns {
		type usage struct{ in, out int64 }
		wantUsage := map[string]usage{}
		failed := 0
		for _, sp := range turn.Spans {
			c, ok := calls[sp.ID]
			if !ok {
				t.Errorf("turn %d: span %s (%s) has no call", i, sp.ID, sp.Name)
				continue
			}
			where := fmt.Sprintf("turn %d, %s (%s)", i, sp.Name, sp.ID)
			if c.TraceID != turn.TraceID {
				t.Errorf("%s: trace_id %s, want %s", where, c.TraceID, turn.TraceID)
			}
			if str(c.ParentID) != sp.ParentID {
				t.Errorf("%s: parent_id %q, want %q", where, str(c.ParentID), sp.ParentID)
			}
			if c.ProjectID != project {
				t.Errorf("%s: project_id %q, want %q", where, c.ProjectID, project)
			}
			safe := strings.ToLower(strings.NewReplacer(" ", "_", "/", "_").Replace(sp.Name))
			if c.OpSafeName != safe || !strings.HasPrefix(c.OpName, "weave:///"+project+"/op/"+safe+":") {
				t.Errorf("%s: op %q (safe name %q), want weave:///%s/op/%s:<digest>", where, c.OpName, c.OpSafeName, project, safe)
			}
			if str(c.ThreadID) != conv.ThreadID || str(c.TurnID) != turn.RootID {
				t.Errorf("%s: thread_id %q, turn_id %q; want %q, %q", where, str(c.ThreadID), str(c.TurnID), conv.ThreadID, turn.RootID)
			}
			if sp.Failed {
				failed++
				if c.Status != "error" || str(c.Exception) == "" {
					t.Errorf("%s: status %q, exception %q; want error with an exception", where, c.Status, str(c.Exception))
				}
				if sp.Exception != "" && str(c.Exception) != sp.Exception {
					t.Errorf("%s: exception %q, want %q (from the exception event)", where, str(c.Exception), sp.Exception)
				}
			}
			if sp.Model != "" {
				if c.Model != sp.Model || c.InputTokens != sp.InputTokens || c.OutputTokens != sp.OutputTokens {
					t.Errorf("%s: model %q, tokens %d/%d; want %q, %d/%d", where, c.Model, c.InputTokens, c.OutputTokens, sp.Model, sp.InputTokens, sp.OutputTokens)
				}
				u := wantUsage[sp.Model]
				wantUsage[sp.Model] = usage{u.in + sp.InputTokens, u.out + sp.OutputTokens}
			}
		}

		root, ok := calls[turn.RootID]
		if !ok {
			continue
		}
		where := fmt.Sprintf("turn %d root", i)
		if str(root.DisplayName) != turn.DisplayName {
			t.Errorf("%s: display_name %q, want %q", where, str(root.DisplayName), turn.DisplayName)
		}
		wantStatus := "success"
		if failed > 0 {
			wantStatus = "descendant_error"
		}
		s := parseSummary(t, root)
		if root.Status != wantStatus || s.Weave.Status != wantStatus {
			t.Errorf("%s: status %q, summary.weave.status %q; want %q", where, root.Status, s.Weave.Status, wantStatus)
		}
		if s.StatusCounts.Error != failed || s.StatusCounts.Success+s.StatusCounts.Error != len(turn.Spans) {
			t.Errorf("%s: status_counts %+v, want %d errors of %d calls", where, s.StatusCounts, failed, len(turn.Spans))
		}
		for model, want := range wantUsage {
			got, ok := s.Usage[model]
			if !ok || got.InputTokens != want.in || got.OutputTokens != want.out || got.Requests != 1 {
				t.Errorf("%s: summary.usage[%s] = %+v, want 1 request, %d/%d tokens (the subtree's)", where, model, got, want.in, want.out)
			}
			if cost, ok := s.Weave.Costs[model]; !ok || cost.PromptTokens != want.in || cost.CompletionTokens != want.out || cost.TotalCost <= 0 {
				t.Errorf("%s: summary.weave.costs[%s] = %+v, want the subtree's %d/%d tokens priced (a listed model)", where, model, cost, want.in, want.out)
			}
		}
		if len(s.Usage) != len(wantUsage) {
			t.Errorf("%s: summary.usage has models %v, want %d", where, keys(s.Usage), len(wantUsage))
		}
		if s.Custom["user_satisfaction"] != 0.9 || s.Custom["turn_number"] != float64(i+1) {
			t.Errorf("%s: custom summary user_satisfaction=%v turn_number=%v, want 0.9 and %d", where, s.Custom["user_satisfaction"], s.Custom["turn_number"], i+1)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// jsonTranscoder re-encodes OTLP/HTTP protobuf requests as OTLP JSON, and
// JSON answers back to protobuf for the SDK.
type jsonTranscoder struct{ next http.RoundTripper }

func (j jsonTranscoder) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return nil, fmt.Errorf("transcoding the SDK's request: %w", err)
	}
	js, err := req.MarshalJSON()
	if err != nil {
		return nil, err
	}
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(js))
	out.ContentLength = int64(len(js))
	out.Header.Set("Content-Type", "application/json")
	out.Header.Del("Content-Encoding")
	resp, err := j.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "application/json") {
		if resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("answer to a JSON request has content type %q", ct)
		}
		return resp, nil
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	res := ptraceotlp.NewExportResponse()
	if err := res.UnmarshalJSON(answer); err != nil {
		return nil, errors.Join(errors.New("the collector's JSON answer"), err)
	}
	pb, err := res.MarshalProto()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(pb))
	resp.ContentLength = int64(len(pb))
	resp.Header.Set("Content-Type", "application/x-protobuf")
	resp.Header.Set("Content-Length", strconv.Itoa(len(pb)))
	return resp, nil
}
