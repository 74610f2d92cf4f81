package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// call is a row of weave.calls, the relation users query.
type call struct {
	ID           string  `ch:"id"`
	TraceID      string  `ch:"trace_id"`
	ParentID     *string `ch:"parent_id"`
	ProjectID    string  `ch:"project_id"`
	OpName       string  `ch:"op_name"`
	OpSafeName   string  `ch:"op_safe_name"`
	DisplayName  *string `ch:"display_name"`
	Exception    *string `ch:"exception"`
	Inputs       string  `ch:"inputs"`
	Output       string  `ch:"output"`
	Summary      string  `ch:"summary"`
	ThreadID     *string `ch:"thread_id"`
	TurnID       *string `ch:"turn_id"`
	Status       string  `ch:"status"`
	Model        string  `ch:"model"`
	InputTokens  int64   `ch:"input_tokens"`
	OutputTokens int64   `ch:"output_tokens"`
}

const callColumns = `id, trace_id, parent_id, project_id, op_name, op_safe_name, display_name, exception,
	inputs, output, summary, thread_id, turn_id, status, model, input_tokens, output_tokens`

// str reads a nullable column, "" for NULL.
func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// callsByID reads every call of the database, keyed by id.
func callsByID(t *testing.T, conn driver.Conn, db string) map[string]call {
	t.Helper()
	var rows []call
	if err := conn.Select(context.Background(), &rows, fmt.Sprintf("SELECT %s FROM `%s`.calls", callColumns, db)); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]call, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out
}

// counts are the rows and the distinct ids of weave.calls.
type counts struct {
	Rows     uint64 `ch:"rows"`
	Distinct uint64 `ch:"ids"`
}

func countCalls(t *testing.T, conn driver.Conn, db string) counts {
	t.Helper()
	var c []counts
	if err := conn.Select(context.Background(), &c, fmt.Sprintf("SELECT count() AS rows, uniqExact(id) AS ids FROM `%s`.calls", db)); err != nil {
		t.Fatal(err)
	}
	return c[0]
}

// waitForCalls polls until weave.calls holds at least n calls, then settles
// for a moment so that calls beyond n (duplicates, strays) would show too.
func waitForCalls(t *testing.T, conn driver.Conn, db string, n uint64) counts {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		c := countCalls(t, conn, db)
		if c.Rows >= n {
			time.Sleep(time.Second) // a release and a flush: anything extra lands meanwhile
			return countCalls(t, conn, db)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s weave.calls holds %d calls, want %d", waitTimeout, c.Rows, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// summary is the part of a call's summary the tests look at.
type summary struct {
	Usage map[string]struct {
		Requests     int64 `json:"requests"`
		InputTokens  int64 `json:"input_tokens"`
		OutputTokens int64 `json:"output_tokens"`
	} `json:"usage"`
	StatusCounts struct {
		Success int `json:"success"`
		Error   int `json:"error"`
	} `json:"status_counts"`
	Weave struct {
		Status string `json:"status"`
		Costs  map[string]struct {
			PromptTokens     int64   `json:"prompt_tokens"`
			CompletionTokens int64   `json:"completion_tokens"`
			TotalCost        float64 `json:"total_cost"`
		} `json:"costs"`
	} `json:"weave"`
	Custom map[string]any `json:"-"`
}

func parseSummary(t *testing.T, c call) summary {
	t.Helper()
	var s summary
	if err := json.Unmarshal([]byte(c.Summary), &s); err != nil {
		t.Fatalf("call %s: summary %q: %v", c.ID, c.Summary, err)
	}
	if err := json.Unmarshal([]byte(c.Summary), &s.Custom); err != nil {
		t.Fatal(err)
	}
	return s
}
