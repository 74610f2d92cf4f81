package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/callhouse/callhouse/internal/agentsim"
)

// size64MiB is the size of the oversized requests: above the receiver's
// limits (20 MiB over HTTP, 4 MiB per gRPC message by default).
const size64MiB = 64 << 20

// TestMalformedOTLP sends broken and oversized OTLP to a running collector:
// each gets a clear client error, and the collector keeps serving — a
// valid trace sent after each one is stored.
func TestMalformedOTLP(t *testing.T) {
	c := startCollector(t, collectorOptions{})
	conn := clickhouseConn(t)
	gen := agentsim.NewGenerator("e2e", "malformed", 3)

	httpCases := []struct {
		name, contentType string
		body              []byte
		wantStatus        int
		wantMessage       string // in the response body
	}{
		{"protobuf that is not OTLP", "application/x-protobuf", []byte("\xff\xff\xff\xff not protobuf"), http.StatusBadRequest, "proto"},
		{"JSON that does not parse", "application/json", []byte(`{"resourceSpans": [`), http.StatusBadRequest, `"code":3`}, // InvalidArgument
		{"JSON with an invalid trace id", "application/json",
			[]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex","spanId":"0102030405060708","name":"x"}]}]}]}`),
			http.StatusBadRequest, "traceId"},
		{"64 MiB of protobuf", "application/x-protobuf", oversizedProtobuf(t), http.StatusBadRequest, "too large"},
	}
	sent := 0
	for _, tc := range httpCases {
		t.Run("http "+tc.name, func(t *testing.T) {
			status, body := postOTLP(t, c, tc.contentType, tc.body)
			t.Logf("answer: %d %s", status, truncate(body, 200))
			if status != tc.wantStatus || !strings.Contains(strings.ToLower(body), strings.ToLower(tc.wantMessage)) {
				t.Errorf("got %d %q, want %d with %q", status, truncate(body, 300), tc.wantStatus, tc.wantMessage)
			}
			sent += sendValid(t, c, gen)
		})
	}

	grpcConn, err := grpc.NewClient(c.ep.OTLPGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer grpcConn.Close()
	grpcCases := []struct {
		name     string
		call     func(ctx context.Context) error
		wantCode codes.Code
	}{
		{"protobuf that is not OTLP", func(ctx context.Context) error {
			var out []byte
			return grpcConn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
				[]byte("\xff\xff\xff\xff not protobuf"), &out, grpc.ForceCodecV2(rawCodec{}))
		}, codes.Internal},
		{"a 64 MiB request", func(ctx context.Context) error {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(oversizedProtobuf(t)); err != nil {
				t.Fatal(err)
			}
			_, err := ptraceotlp.NewGRPCClient(grpcConn).Export(ctx, req)
			return err
		}, codes.ResourceExhausted},
	}
	for _, tc := range grpcCases {
		t.Run("grpc "+tc.name, func(t *testing.T) {
			err := tc.call(context.Background())
			t.Logf("answer: %v", err)
			if status.Code(err) != tc.wantCode {
				t.Errorf("got %v, want code %s", err, tc.wantCode)
			}
			sent += sendValid(t, c, gen)
		})
	}

	got := waitForCalls(t, conn, c.database, uint64(sent))
	if got.Rows != uint64(sent) {
		t.Errorf("weave.calls holds %d calls of the %d valid spans sent between the bad requests", got.Rows, sent)
	}
}

// postOTLP posts body to the collector's OTLP/HTTP traces endpoint.
func postOTLP(t *testing.T, c *collector, contentType string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+c.ep.OTLPHTTP+"/v1/traces", contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// sendValid posts one valid trace and checks it is accepted; it returns
// the spans sent.
func sendValid(t *testing.T, c *collector, gen *agentsim.Generator) int {
	t.Helper()
	req, _ := gen.Request(1)
	body, err := req.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	if status, answer := postOTLP(t, c, "application/x-protobuf", body); status != http.StatusOK {
		t.Fatalf("a valid trace after the bad request: %d %s", status, answer)
	}
	return req.Traces().SpanCount()
}

// oversizedProtobuf is a valid OTLP request of about 64 MiB: one span with
// a huge attribute.
func oversizedProtobuf(t *testing.T) []byte {
	t.Helper()
	req, _ := agentsim.NewGenerator("e2e", "oversized", 1).Request(1)
	span := req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	span.Attributes().PutStr("input.value", strings.Repeat("x", size64MiB))
	b, err := req.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// rawCodec sends bytes as they are, to put non-OTLP bytes on the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }
