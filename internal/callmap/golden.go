package callmap

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// callTimeFormat is how Call times appear in MarshalJSON: UTC with
// microseconds, as DateTime64(6) stores them.
const callTimeFormat = "2006-01-02T15:04:05.000000Z"

// MarshalJSON encodes the call in a canonical, indented form with the field
// names of DESIGN §1 (the JSON fields embedded as JSON, null for absent
// optionals) followed by the typed analysis fields; golden files hold it.
func (c *Call) MarshalJSON() ([]byte, error) {
	r := c.ToRecord()
	b := make([]byte, 0, 256+len(r.Inputs)+len(r.Output)+len(r.Attributes)+len(r.Summary))
	b = append(b, '{')
	b = appendKeyStr(b, "id", c.ID)
	b = appendKeyStr(b, "trace_id", c.TraceID)
	b = appendKeyOptional(b, "parent_id", c.ParentID)
	b = appendKeyStr(b, "project_id", c.ProjectID)
	b = appendKeyStr(b, "op_name", c.OpName)
	b = appendKeyOptional(b, "display_name", c.DisplayName)
	b = appendKeyTime(b, "started_at", c.StartedAt)
	b = appendKeyTime(b, "ended_at", c.EndedAt)
	b = appendKeyOptional(b, "exception", c.Exception)
	b = append(appendKey(b, "inputs"), r.Inputs...)
	b = append(appendKey(b, "output"), r.Output...)
	b = append(appendKey(b, "attributes"), r.Attributes...)
	b = append(appendKey(b, "summary"), r.Summary...)
	b = appendKeyOptional(b, "thread_id", c.ThreadID)
	b = appendKeyOptional(b, "turn_id", c.TurnID)
	b = appendKeyOptional(b, "wb_user_id", c.WBUserID)
	b = appendKeyOptional(b, "wb_run_id", c.WBRunID)
	b = append(appendKey(b, "deleted_at"), "null"...)
	b = appendKeyStr(b, "op_safe_name", c.OpSafeName)
	b = appendKeyOptional(b, "kind", c.Kind)
	b = appendKeyOptional(b, "model", c.Model)
	b = appendKeyOptional(b, "provider", c.Provider)
	b = appendKeyOptional(b, "operation", c.Operation)
	b = strconv.AppendBool(appendKey(b, "is_turn"), c.IsTurn)
	b = appendKeyInt(b, "input_tokens", c.InputTokens)
	b = appendKeyInt(b, "output_tokens", c.OutputTokens)
	b = appendKeyInt(b, "total_tokens", c.TotalTokens)
	if c.HasCost {
		b = appendKeyFloat(b, "cost_usd", c.CostUSD)
	} else {
		b = append(appendKey(b, "cost_usd"), "null"...)
	}
	b = strconv.AppendUint(appendKey(b, "version"), c.Version, 10)
	b = append(b, '}')
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func appendKeyOptional(b []byte, k, v string) []byte {
	if v == "" {
		return append(appendKey(b, k), "null"...)
	}
	return appendKeyStr(b, k, v)
}

func appendKeyTime(b []byte, k string, t time.Time) []byte {
	if t.IsZero() {
		return append(appendKey(b, k), "null"...)
	}
	b = append(appendKey(b, k), '"')
	b = t.UTC().AppendFormat(b, callTimeFormat)
	return append(b, '"')
}
