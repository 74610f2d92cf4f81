package callmap

import (
	"strconv"
	"sync"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Record is a call encoded as it is stored: JSON fields as JSON text and
// the typed analysis values. The processor annotates spans with it and the
// exporter writes it.
type Record struct {
	ID, TraceID, ParentID string
	ProjectID             string
	OpName, OpSafeName    string
	DisplayName           string
	StartedAt, EndedAt    time.Time // EndedAt zero = running
	Exception             string

	Inputs, Output, Attributes, Summary string // JSON text

	ThreadID, TurnID  string
	WBUserID, WBRunID string

	Kind, Model, Provider, Operation string
	Status                           Status
	LatencyMS                        int64 // 0 while running

	// The call's own counted spend (see Call).
	InputTokens, OutputTokens, TotalTokens int64
	CostUSD                                float64
	HasCost                                bool

	Version uint64
}

// AnnotationKey is the reserved span attribute under which the processor
// stores the derived call, as a map whose keys are the Record's fields in
// snake_case. Spans carrying it are written as they are; others are mapped.
const AnnotationKey = "callhouse.call"

// Annotation keys inside AnnotationKey's map.
const (
	annVersion      = "version"
	annProjectID    = "project_id"
	annOpName       = "op_name"
	annOpSafeName   = "op_safe_name"
	annDisplayName  = "display_name"
	annException    = "exception"
	annInputs       = "inputs"
	annOutput       = "output"
	annAttributes   = "attributes"
	annSummary      = "summary"
	annThreadID     = "thread_id"
	annTurnID       = "turn_id"
	annWBUserID     = "wb_user_id"
	annWBRunID      = "wb_run_id"
	annKind         = "kind"
	annModel        = "model"
	annProvider     = "provider"
	annOperation    = "operation"
	annStatus       = "status"
	annLatencyMS    = "latency_ms"
	annInputTokens  = "input_tokens"
	annOutputTokens = "output_tokens"
	annTotalTokens  = "total_tokens"
	annCostUSD      = "cost_usd"
)

// Annotate stores r on the span under AnnotationKey, replacing an earlier
// annotation. Ids and times are the span's own and are not repeated.
// Optional fields that are empty are left out.
func Annotate(span ptrace.Span, r *Record) {
	m := span.Attributes().PutEmptyMap(AnnotationKey)
	m.EnsureCapacity(24)
	m.PutInt(annVersion, int64(r.Version))
	m.PutStr(annProjectID, r.ProjectID)
	m.PutStr(annOpName, r.OpName)
	m.PutStr(annOpSafeName, r.OpSafeName)
	putOptional(m, annDisplayName, r.DisplayName)
	putOptional(m, annException, r.Exception)
	m.PutStr(annInputs, r.Inputs)
	m.PutStr(annOutput, r.Output)
	m.PutStr(annAttributes, r.Attributes)
	m.PutStr(annSummary, r.Summary)
	putOptional(m, annThreadID, r.ThreadID)
	putOptional(m, annTurnID, r.TurnID)
	putOptional(m, annWBUserID, r.WBUserID)
	putOptional(m, annWBRunID, r.WBRunID)
	putOptional(m, annKind, r.Kind)
	putOptional(m, annModel, r.Model)
	putOptional(m, annProvider, r.Provider)
	putOptional(m, annOperation, r.Operation)
	m.PutStr(annStatus, string(r.Status))
	m.PutInt(annLatencyMS, r.LatencyMS)
	m.PutInt(annInputTokens, r.InputTokens)
	m.PutInt(annOutputTokens, r.OutputTokens)
	m.PutInt(annTotalTokens, r.TotalTokens)
	if r.HasCost {
		m.PutDouble(annCostUSD, r.CostUSD)
	}
}

func putOptional(m pcommon.Map, k, v string) {
	if v != "" {
		m.PutStr(k, v)
	}
}

// FromAnnotation reads the record the processor stored on the span. ok is
// false when the span carries no annotation (or one of another shape), and
// then the span must be mapped.
func FromAnnotation(span ptrace.Span) (r Record, ok bool) {
	v, found := span.Attributes().Get(AnnotationKey)
	if !found || v.Type() != pcommon.ValueTypeMap {
		return Record{}, false
	}
	r.TraceID, r.ID, r.ParentID = hexIDs(span.TraceID(), span.SpanID(), span.ParentSpanID())
	r.StartedAt = span.StartTimestamp().AsTime().UTC()
	if end := span.EndTimestamp(); end != 0 {
		r.EndedAt = end.AsTime().UTC()
	}
	v.Map().Range(func(k string, val pcommon.Value) bool {
		switch k {
		case annVersion:
			r.Version = uint64(val.Int())
		case annProjectID:
			r.ProjectID = val.Str()
		case annOpName:
			r.OpName = val.Str()
		case annOpSafeName:
			r.OpSafeName = val.Str()
		case annDisplayName:
			r.DisplayName = val.Str()
		case annException:
			r.Exception = val.Str()
		case annInputs:
			r.Inputs = val.Str()
		case annOutput:
			r.Output = val.Str()
		case annAttributes:
			r.Attributes = val.Str()
		case annSummary:
			r.Summary = val.Str()
		case annThreadID:
			r.ThreadID = val.Str()
		case annTurnID:
			r.TurnID = val.Str()
		case annWBUserID:
			r.WBUserID = val.Str()
		case annWBRunID:
			r.WBRunID = val.Str()
		case annKind:
			r.Kind = val.Str()
		case annModel:
			r.Model = val.Str()
		case annProvider:
			r.Provider = val.Str()
		case annOperation:
			r.Operation = val.Str()
		case annStatus:
			r.Status = Status(val.Str())
		case annLatencyMS:
			r.LatencyMS = val.Int()
		case annInputTokens:
			r.InputTokens = val.Int()
		case annOutputTokens:
			r.OutputTokens = val.Int()
		case annTotalTokens:
			r.TotalTokens = val.Int()
		case annCostUSD:
			r.CostUSD, r.HasCost = val.Double(), true
		}
		return true
	})
	// An annotation without the fields every call has is not ours.
	return r, r.ProjectID != "" && r.OpName != "" && r.Status != ""
}

// ToRecord encodes the call for storage: JSON fields as text, the summary
// (custom keys, usage, status_counts and the reserved `weave` part with
// costs) as Weave documents it. The Record's Inputs, Output and Attributes
// share the Call's bytes (see jsonText).
func (c *Call) ToRecord() Record {
	r := Record{
		ID: c.ID, TraceID: c.TraceID, ParentID: c.ParentID,
		ProjectID: c.ProjectID,
		OpName:    c.OpName, OpSafeName: c.OpSafeName,
		DisplayName: c.DisplayName,
		StartedAt:   c.StartedAt, EndedAt: c.EndedAt,
		Exception:  c.Exception,
		Inputs:     jsonText(c.Inputs, "{}"),
		Output:     jsonText(c.Output, "null"),
		Attributes: jsonText(c.Attributes, "{}"),
		ThreadID:   c.ThreadID, TurnID: c.TurnID,
		WBUserID: c.WBUserID, WBRunID: c.WBRunID,
		Kind: c.Kind, Model: c.Model, Provider: c.Provider, Operation: c.Operation,
		Status:      c.Summary.Status,
		InputTokens: c.InputTokens, OutputTokens: c.OutputTokens, TotalTokens: c.TotalTokens,
		CostUSD: c.CostUSD, HasCost: c.HasCost,
		Version: c.Version,
	}
	if !c.Summary.latencyUnknown() {
		r.LatencyMS = c.Summary.LatencyMS
	}
	bp := bufPool.Get().(*[]byte)
	b := c.Summary.AppendJSON((*bp)[:0])
	r.Summary = string(b)
	if cap(b) <= maxPooledBytes {
		*bp = b
		bufPool.Put(bp)
	}
	return r
}

var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// jsonText is the JSON text b, or def when b is empty. It shares b's
// bytes: a Call's JSON fields are written once by Map and never modified in
// place (replace them instead), so the Record can view them without a copy.
func jsonText(b []byte, def string) string {
	if len(b) == 0 {
		return def
	}
	return unsafe.String(&b[0], len(b))
}

// AppendJSON appends the summary as Weave stores it: the custom keys at the
// top level, then "usage" (when there is any), "status_counts" and "weave"
// (status, latency_ms — null while running —, trace_name, and "costs" when
// there are any). Keys come in a fixed order.
func (s *Summary) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	if len(s.Custom) > 2 && s.Custom[0] == '{' {
		// the custom object without its braces; computed keys follow
		b = append(b, s.Custom[1:len(s.Custom)-1]...)
	}
	if len(s.Usage) > 0 {
		b = append(appendQKey(b, `"usage":`), '{')
		for _, u := range s.Usage {
			b = append(appendKey(b, u.Model), '{')
			b = strconv.AppendInt(appendQKey(b, `"requests":`), u.Requests, 10)
			b = strconv.AppendInt(appendQKey(b, `"input_tokens":`), u.InputTokens, 10)
			b = strconv.AppendInt(appendQKey(b, `"output_tokens":`), u.OutputTokens, 10)
			b = strconv.AppendInt(appendQKey(b, `"total_tokens":`), u.TotalTokens, 10)
			b = appendNonZeroInt(b, `"cache_read_input_tokens":`, u.CacheReadInputTokens)
			b = appendNonZeroInt(b, `"cache_creation_input_tokens":`, u.CacheCreationInputTokens)
			b = appendNonZeroInt(b, `"reasoning_tokens":`, u.ReasoningTokens)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(appendQKey(b, `"status_counts":`), '{')
	b = strconv.AppendInt(appendQKey(b, `"success":`), s.StatusCounts.Success, 10)
	b = strconv.AppendInt(appendQKey(b, `"error":`), s.StatusCounts.Error, 10)
	b = append(b, '}')

	b = append(appendQKey(b, `"weave":`), '{')
	b = appendString(appendQKey(b, `"status":`), string(s.Status))
	if s.latencyUnknown() {
		b = append(appendQKey(b, `"latency_ms":`), "null"...)
	} else {
		b = strconv.AppendInt(appendQKey(b, `"latency_ms":`), s.LatencyMS, 10)
	}
	b = appendString(appendQKey(b, `"trace_name":`), s.TraceName)
	if len(s.Costs) > 0 {
		b = append(appendQKey(b, `"costs":`), '{')
		for _, m := range s.Costs {
			b = append(appendKey(b, m.Model), '{')
			b = m.Cost.appendJSON(b)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}', '}')
}

// latencyUnknown: the call has no end time (yet).
func (s *Summary) latencyUnknown() bool { return s.Status == StatusRunning || s.Unended }

// appendJSON appends the members of one summary.weave.costs entry.
func (c *Cost) appendJSON(b []byte) []byte {
	b = strconv.AppendInt(appendQKey(b, `"prompt_tokens":`), c.PromptTokens, 10)
	b = strconv.AppendInt(appendQKey(b, `"completion_tokens":`), c.CompletionTokens, 10)
	b = strconv.AppendInt(appendQKey(b, `"requests":`), c.Requests, 10)
	b = strconv.AppendInt(appendQKey(b, `"total_tokens":`), c.TotalTokens, 10)
	b = appendPrice(appendQKey(b, `"prompt_token_cost":`), c.PromptTokenCost)
	b = appendPrice(appendQKey(b, `"completion_token_cost":`), c.CompletionTokenCost)
	b = appendCost(appendQKey(b, `"prompt_tokens_total_cost":`), c.PromptTokensTotalCost)
	b = appendCost(appendQKey(b, `"completion_tokens_total_cost":`), c.CompletionTokensTotalCost)
	if c.CacheReadTokenCost != 0 || c.CacheReadTokensTotalCost != 0 {
		b = appendPrice(appendQKey(b, `"cache_read_input_token_cost":`), c.CacheReadTokenCost)
		b = appendCost(appendQKey(b, `"cache_read_input_tokens_total_cost":`), c.CacheReadTokensTotalCost)
	}
	if c.CacheCreationTokenCost != 0 || c.CacheCreationTokensTotalCost != 0 {
		b = appendPrice(appendQKey(b, `"cache_creation_input_token_cost":`), c.CacheCreationTokenCost)
		b = appendCost(appendQKey(b, `"cache_creation_input_tokens_total_cost":`), c.CacheCreationTokensTotalCost)
	}
	b = appendCost(appendQKey(b, `"total_cost":`), c.TotalCost)
	b = appendString(appendQKey(b, `"provider_id":`), c.ProviderID)
	b = appendString(appendQKey(b, `"pricing_level":`), c.PricingLevel)
	if c.EffectiveDate == "" {
		b = append(appendQKey(b, `"effective_date":`), "null"...)
	} else {
		b = appendString(appendQKey(b, `"effective_date":`), c.EffectiveDate)
	}
	b = append(appendQKey(b, `"prompt_token_cost_unit":`), `"USD"`...)
	return append(appendQKey(b, `"completion_token_cost_unit":`), `"USD"`...)
}

// appendNonZeroInt appends `"k":n` unless n is 0; qk is `"k":` (see appendQKey).
func appendNonZeroInt(b []byte, qk string, n int64) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(appendQKey(b, qk), n, 10)
}

const hexDigits = "0123456789abcdef"
