package callmap

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
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
// stores the derived call. Spans carrying it are written as they are;
// others are mapped.
//
// Its value is a map of strings: "summary", the summary as JSON text,
// "call", one JSON object holding the other fields in snake_case (ids and
// times are the span's own and are not repeated), and, for a record that
// has them (a call mapped with MapTo), the call's "inputs", "output" and
// "attributes" as JSON text. A record of a call mapped with MapFactsTo
// leaves those three out: they restate the span's own attributes and
// events, so a reader maps the span for them (see ReadCall) rather than
// the span carrying everything twice. Every map entry costs an allocation
// and a lookup on both sides of the hand-over, so the scalar fields travel
// together; all of it stays readable in a debug exporter's output.
const AnnotationKey = "callhouse.call"

// Annotation keys: the map's entries, then the members of its "call" object.
const (
	annCall         = "call"
	annInputs       = "inputs"
	annOutput       = "output"
	annAttributes   = "attributes"
	annSummary      = "summary"
	annVersion      = "version"
	annProjectID    = "project_id"
	annOpName       = "op_name"
	annOpSafeName   = "op_safe_name"
	annDisplayName  = "display_name"
	annException    = "exception"
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
// annotation. Optional fields that are empty are left out of "call".
func Annotate(span ptrace.Span, r *Record) {
	var t *Texts
	t.Annotate(span, r)
}

// Annotate is the package's Annotate with the "call" text written in t.
func (t *Texts) Annotate(span ptrace.Span, r *Record) {
	// One more entry, exactly: appending to a decoded span's attributes
	// (their slice is full) would otherwise double it, copying every entry
	// into twice the memory.
	attrs := span.Attributes()
	attrs.EnsureCapacity(attrs.Len() + 1)
	m := attrs.PutEmptyMap(AnnotationKey)
	texts := !r.NeedsTexts()
	if texts {
		m.EnsureCapacity(5)
	} else {
		m.EnsureCapacity(2)
	}
	m.PutStr(annCall, t.text(r.appendCallJSON))
	if texts {
		m.PutStr(annInputs, r.Inputs)
		m.PutStr(annOutput, r.Output)
		m.PutStr(annAttributes, r.Attributes)
	}
	m.PutStr(annSummary, r.Summary)
}

// NeedsTexts reports whether r lacks the call's Inputs, Output and
// Attributes: it was encoded from a call mapped by MapFactsTo, or read
// from an annotation without them. SetTexts fills them in.
func (r *Record) NeedsTexts() bool { return r.Inputs == "" && r.Output == "" && r.Attributes == "" }

// SetTexts gives r the Inputs, Output and Attributes of c, the same span
// mapped by Map or MapTo (c's bytes are shared, not copied).
func (r *Record) SetTexts(c *Call) {
	r.Inputs = jsonText(c.Inputs, "{}")
	r.Output = jsonText(c.Output, "null")
	r.Attributes = jsonText(c.Attributes, "{}")
}

// appendCallJSON appends the "call" object of the annotation.
func (r *Record) appendCallJSON(b []byte) []byte {
	b = strconv.AppendUint(append(b, `{"`+annVersion+`":`...), r.Version, 10)
	b = appendString(append(b, `,"`+annProjectID+`":`...), r.ProjectID)
	b = appendString(append(b, `,"`+annOpName+`":`...), r.OpName)
	b = appendString(append(b, `,"`+annOpSafeName+`":`...), r.OpSafeName)
	for _, f := range [...]struct{ qk, v string }{
		{`,"` + annDisplayName + `":`, r.DisplayName},
		{`,"` + annException + `":`, r.Exception},
		{`,"` + annThreadID + `":`, r.ThreadID},
		{`,"` + annTurnID + `":`, r.TurnID},
		{`,"` + annWBUserID + `":`, r.WBUserID},
		{`,"` + annWBRunID + `":`, r.WBRunID},
		{`,"` + annKind + `":`, r.Kind},
		{`,"` + annModel + `":`, r.Model},
		{`,"` + annProvider + `":`, r.Provider},
		{`,"` + annOperation + `":`, r.Operation},
	} {
		if f.v != "" {
			b = appendString(append(b, f.qk...), f.v)
		}
	}
	b = appendString(append(b, `,"`+annStatus+`":`...), string(r.Status))
	b = strconv.AppendInt(append(b, `,"`+annLatencyMS+`":`...), r.LatencyMS, 10)
	b = strconv.AppendInt(append(b, `,"`+annInputTokens+`":`...), r.InputTokens, 10)
	b = strconv.AppendInt(append(b, `,"`+annOutputTokens+`":`...), r.OutputTokens, 10)
	b = strconv.AppendInt(append(b, `,"`+annTotalTokens+`":`...), r.TotalTokens, 10)
	if r.HasCost {
		b = appendFloat(append(b, `,"`+annCostUSD+`":`...), r.CostUSD)
	}
	return append(b, '}')
}

// FromAnnotation reads the record the processor stored on the span. ok is
// false when the span carries no annotation, or one of another layout (not
// ours), and then the span must be mapped. An annotation without the texts
// (the processor's, see AnnotationKey) gives a record that NeedsTexts.
func FromAnnotation(span ptrace.Span) (r Record, ok bool) {
	var t *Texts
	return t.FromAnnotation(span)
}

// FromAnnotation is the package's FromAnnotation with the record's hex ids
// written in t.
func (t *Texts) FromAnnotation(span ptrace.Span) (r Record, ok bool) {
	v, found := span.Attributes().Get(AnnotationKey)
	if !found || v.Type() != pcommon.ValueTypeMap {
		return Record{}, false
	}
	r.TraceID, r.ID, r.ParentID = t.hexIDs(span.TraceID(), span.SpanID(), span.ParentSpanID())
	r.StartedAt = span.StartTimestamp().AsTime().UTC()
	if end := span.EndTimestamp(); end != 0 {
		r.EndedAt = end.AsTime().UTC()
	}
	fields, texts, summary := false, 0, false
	for k, val := range v.Map().All() {
		if val.Type() != pcommon.ValueTypeStr {
			return Record{}, false
		}
		switch k {
		case annCall:
			fields = r.setCallFields(val.Str())
		case annInputs:
			r.Inputs, texts = val.Str(), texts+1
		case annOutput:
			r.Output, texts = val.Str(), texts+1
		case annAttributes:
			r.Attributes, texts = val.Str(), texts+1
		case annSummary:
			r.Summary, summary = val.Str(), true
		}
	}
	// An annotation without the fields every call has is not ours; the
	// texts come all three or none.
	return r, fields && summary && (texts == 0 || texts == 3) && r.ProjectID != "" && r.OpName != "" && r.Status != ""
}

// setCallFields reads the annotation's "call" object into r. It reads what
// appendCallJSON writes (keys without escapes, strings, integers, one
// float) and reports false on anything else.
func (r *Record) setCallFields(s string) bool {
	if len(s) < 2 || s[0] != '{' {
		return false
	}
	for i := 1; ; {
		if i >= len(s) || s[i] != '"' {
			return false
		}
		end := strings.IndexByte(s[i+1:], '"')
		if end < 0 {
			return false
		}
		key := s[i+1 : i+1+end]
		i += end + 2
		if i >= len(s) || s[i] != ':' {
			return false
		}
		i++
		if i < len(s) && s[i] == '"' {
			j := scanString(s, i)
			if j < 0 {
				return false
			}
			str, ok := jsonUnquote(s[i:j])
			if !ok || !r.setStr(key, str) {
				return false
			}
			i = j
		} else {
			j := i
			for j < len(s) && s[j] != ',' && s[j] != '}' {
				j++
			}
			if !r.setNum(key, s[i:j]) {
				return false
			}
			i = j
		}
		if i >= len(s) {
			return false
		}
		switch s[i] {
		case ',':
			i++
		case '}':
			return i == len(s)-1
		default:
			return false
		}
	}
}

// setStr sets the string field named key; false for a key that is not one.
func (r *Record) setStr(key, v string) bool {
	switch key {
	case annProjectID:
		r.ProjectID = v
	case annOpName:
		r.OpName = v
	case annOpSafeName:
		r.OpSafeName = v
	case annDisplayName:
		r.DisplayName = v
	case annException:
		r.Exception = v
	case annThreadID:
		r.ThreadID = v
	case annTurnID:
		r.TurnID = v
	case annWBUserID:
		r.WBUserID = v
	case annWBRunID:
		r.WBRunID = v
	case annKind:
		r.Kind = v
	case annModel:
		r.Model = v
	case annProvider:
		r.Provider = v
	case annOperation:
		r.Operation = v
	case annStatus:
		r.Status = Status(v)
	case annCostUSD:
		f, ok := nonFinite[v]
		r.CostUSD, r.HasCost = f, true
		return ok
	default:
		return false
	}
	return true
}

// setNum sets the numeric field named key from its JSON text.
func (r *Record) setNum(key, v string) bool {
	var err error
	switch key {
	case annVersion:
		r.Version, err = strconv.ParseUint(v, 10, 64)
	case annLatencyMS:
		r.LatencyMS, err = strconv.ParseInt(v, 10, 64)
	case annInputTokens:
		r.InputTokens, err = strconv.ParseInt(v, 10, 64)
	case annOutputTokens:
		r.OutputTokens, err = strconv.ParseInt(v, 10, 64)
	case annTotalTokens:
		r.TotalTokens, err = strconv.ParseInt(v, 10, 64)
	case annCostUSD:
		r.CostUSD, err = strconv.ParseFloat(v, 64)
		r.HasCost = true
	default:
		return false
	}
	return err == nil
}

// nonFinite reads the strings appendFloat writes for NaN and ±Inf.
var nonFinite = map[string]float64{"NaN": math.NaN(), "Infinity": math.Inf(1), "-Infinity": math.Inf(-1)}

// jsonUnquote is the value of a valid JSON string token (quotes included):
// a substring of it when there is no escape, else decoded.
func jsonUnquote(tok string) (string, bool) {
	inner := tok[1 : len(tok)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	var v string
	return v, json.Unmarshal(bytesOf(tok), &v) == nil
}

// ToRecord encodes the call for storage: JSON fields as text, the summary
// (custom keys, usage, status_counts and the reserved `weave` part with
// costs) as Weave documents it. The Record's Inputs, Output and Attributes
// share the Call's bytes (see jsonText).
func (c *Call) ToRecord() Record {
	var t *Texts
	return t.Record(c)
}

// Record is c.ToRecord with the summary text written in t.
func (t *Texts) Record(c *Call) Record {
	r := Record{
		ID: c.ID, TraceID: c.TraceID, ParentID: c.ParentID,
		ProjectID: c.ProjectID,
		OpName:    c.OpName, OpSafeName: c.OpSafeName,
		DisplayName: c.DisplayName,
		StartedAt:   c.StartedAt, EndedAt: c.EndedAt,
		Exception: c.Exception,
		ThreadID:  c.ThreadID, TurnID: c.TurnID,
		WBUserID: c.WBUserID, WBRunID: c.WBRunID,
		Kind: c.Kind, Model: c.Model, Provider: c.Provider, Operation: c.Operation,
		Status:      c.Summary.Status,
		InputTokens: c.InputTokens, OutputTokens: c.OutputTokens, TotalTokens: c.TotalTokens,
		CostUSD: c.CostUSD, HasCost: c.HasCost,
		Version: c.Version,
	}
	if !c.NoTexts {
		r.SetTexts(c)
	}
	if !c.Summary.latencyUnknown() {
		r.LatencyMS = c.Summary.LatencyMS
	}
	r.Summary = t.text(c.Summary.AppendJSON)
	return r
}

// pooledString is the text appendTo writes, built in a pooled buffer so
// that only the string is allocated.
func pooledString(appendTo func([]byte) []byte) string {
	bp := bufPool.Get().(*[]byte)
	b := appendTo((*bp)[:0])
	s := string(b)
	if cap(b) <= maxPooledBytes {
		*bp = b
		bufPool.Put(bp)
	}
	return s
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
			b = append(appendKey(b, u.Model), `{"requests":`...)
			b = strconv.AppendInt(b, u.Requests, 10)
			b = strconv.AppendInt(append(b, `,"input_tokens":`...), u.InputTokens, 10)
			b = strconv.AppendInt(append(b, `,"output_tokens":`...), u.OutputTokens, 10)
			b = strconv.AppendInt(append(b, `,"total_tokens":`...), u.TotalTokens, 10)
			b = appendNonZeroInt(b, `"cache_read_input_tokens":`, u.CacheReadInputTokens)
			b = appendNonZeroInt(b, `"cache_creation_input_tokens":`, u.CacheCreationInputTokens)
			b = appendNonZeroInt(b, `"reasoning_tokens":`, u.ReasoningTokens)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = strconv.AppendInt(appendQKey(b, `"status_counts":{"success":`), s.StatusCounts.Success, 10)
	b = strconv.AppendInt(append(b, `,"error":`...), s.StatusCounts.Error, 10)

	b = appendString(append(b, `},"weave":{"status":`...), string(s.Status))
	if s.latencyUnknown() {
		b = append(b, `,"latency_ms":null`...)
	} else {
		b = strconv.AppendInt(append(b, `,"latency_ms":`...), s.LatencyMS, 10)
	}
	b = appendString(append(b, `,"trace_name":`...), s.TraceName)
	if len(s.Costs) > 0 {
		b = append(b, `,"costs":{`...)
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
	// Every member but the first follows another: its comma is part of
	// its key's text.
	b = strconv.AppendInt(append(b, `"prompt_tokens":`...), c.PromptTokens, 10)
	b = strconv.AppendInt(append(b, `,"completion_tokens":`...), c.CompletionTokens, 10)
	b = strconv.AppendInt(append(b, `,"requests":`...), c.Requests, 10)
	b = strconv.AppendInt(append(b, `,"total_tokens":`...), c.TotalTokens, 10)
	b = appendPrice(append(b, `,"prompt_token_cost":`...), c.PromptTokenCost)
	b = appendPrice(append(b, `,"completion_token_cost":`...), c.CompletionTokenCost)
	b = appendCost(append(b, `,"prompt_tokens_total_cost":`...), c.PromptTokensTotalCost)
	b = appendCost(append(b, `,"completion_tokens_total_cost":`...), c.CompletionTokensTotalCost)
	if c.CacheReadTokenCost != 0 || c.CacheReadTokensTotalCost != 0 {
		b = appendPrice(append(b, `,"cache_read_input_token_cost":`...), c.CacheReadTokenCost)
		b = appendCost(append(b, `,"cache_read_input_tokens_total_cost":`...), c.CacheReadTokensTotalCost)
	}
	if c.CacheCreationTokenCost != 0 || c.CacheCreationTokensTotalCost != 0 {
		b = appendPrice(append(b, `,"cache_creation_input_token_cost":`...), c.CacheCreationTokenCost)
		b = appendCost(append(b, `,"cache_creation_input_tokens_total_cost":`...), c.CacheCreationTokensTotalCost)
	}
	b = appendCost(append(b, `,"total_cost":`...), c.TotalCost)
	b = appendString(append(b, `,"provider_id":`...), c.ProviderID)
	b = appendString(append(b, `,"pricing_level":`...), c.PricingLevel)
	if c.EffectiveDate == "" {
		b = append(b, `,"effective_date":null`...)
	} else {
		b = appendString(append(b, `,"effective_date":`...), c.EffectiveDate)
	}
	return append(b, `,"prompt_token_cost_unit":"USD","completion_token_cost_unit":"USD"`...)
}

// appendNonZeroInt appends `"k":n` unless n is 0; qk is `"k":` (see appendQKey).
func appendNonZeroInt(b []byte, qk string, n int64) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(appendQKey(b, qk), n, 10)
}

const hexDigits = "0123456789abcdef"
