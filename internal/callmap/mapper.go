package callmap

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/pricing"
)

// Config is the mapping configuration. The processor and the exporter both
// embed it under the key `mapping`, so one block of YAML means the same
// thing in both places.
type Config struct {
	// DefaultEntity is the Weave entity used when a resource has no `wandb.entity`.
	DefaultEntity string `mapstructure:"default_entity"`
	// DefaultProject is the project used when a resource has no `wandb.project`;
	// empty means the resource's `service.name`, and "default" without one.
	DefaultProject string `mapstructure:"default_project"`
	// SummaryPrefix marks span attributes whose rest becomes a custom summary
	// key (`weave.summary.accuracy=0.95` → `summary.accuracy`). Empty turns
	// custom summary keys off.
	SummaryPrefix string `mapstructure:"summary_prefix"`
	// MaxValueBytes caps one attribute or event string (or bytes) value;
	// longer values are cut at a UTF-8 boundary and marked (see MAPPING.md).
	// 0 means no limit.
	MaxValueBytes int `mapstructure:"max_value_bytes"`
	// Prices extends or overrides the built-in price table.
	Prices pricing.Config `mapstructure:"prices"`
}

// DefaultConfig returns the defaults documented in the processor README.
func DefaultConfig() Config {
	return Config{
		DefaultEntity: "callhouse",
		SummaryPrefix: "weave.summary.",
		MaxValueBytes: 1 << 20,
	}
}

// minValueBytes is the smallest useful value cap: below it a cut value is
// mostly marker.
const minValueBytes = 64

// Validate reports every problem of the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.DefaultEntity == "" {
		errs = append(errs, errors.New("default_entity: must not be empty"))
	}
	if err := checkName(c.DefaultEntity); err != nil {
		errs = append(errs, fmt.Errorf("default_entity: %w", err))
	}
	if err := checkName(c.DefaultProject); err != nil {
		errs = append(errs, fmt.Errorf("default_project: %w", err))
	}
	if strings.ContainsFunc(c.SummaryPrefix, unicode.IsControl) || !utf8.ValidString(c.SummaryPrefix) {
		errs = append(errs, fmt.Errorf("summary_prefix: %q holds control characters or invalid UTF-8", c.SummaryPrefix))
	}
	if c.MaxValueBytes < 0 {
		errs = append(errs, fmt.Errorf("max_value_bytes: %d is negative (0 means no limit)", c.MaxValueBytes))
	} else if c.MaxValueBytes > 0 && c.MaxValueBytes < minValueBytes {
		errs = append(errs, fmt.Errorf("max_value_bytes: %d is below the minimum of %d (0 means no limit)", c.MaxValueBytes, minValueBytes))
	}
	if v, ok := any(c.Prices).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkName checks an entity or project name: it becomes a part of
// project_id ("entity/project") and of op refs.
func checkName(s string) error {
	switch {
	case strings.Contains(s, "/"):
		return fmt.Errorf("%q must not contain '/'", s)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("%q holds control characters or invalid UTF-8", s)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%q has leading or trailing spaces", s)
	}
	return nil
}

// Mapper maps spans to calls. It is safe for concurrent use.
type Mapper struct {
	cfg    Config
	prices *pricing.Table
	pool   sync.Pool // of *state
}

// NewMapper builds a mapper, loading the price table the config names.
func NewMapper(cfg Config) (*Mapper, error) {
	prices, err := pricing.Load(cfg.Prices)
	if err != nil {
		return nil, err
	}
	return NewMapperWithPrices(cfg, prices), nil
}

// NewMapperWithPrices builds a mapper that prices usage with an already
// loaded table (shared between components); a nil table knows no prices.
func NewMapperWithPrices(cfg Config, prices *pricing.Table) *Mapper {
	return &Mapper{cfg: cfg, prices: prices}
}

// Prices returns the price table the mapper computes costs with.
func (m *Mapper) Prices() *pricing.Table { return m.prices }

// kv is one span attribute's value; use is what it turned out to be. Its
// key is st.classes[i].key, at the same index: the class's string, equal
// to the span's, stays the same span after span (stores of an unchanged
// pointer are skipped, see tree.next) and is not stored again here.
type kv struct {
	v   pcommon.Value
	use attrUse
}

// attrUse records what one span attribute turned out to be.
type attrUse struct {
	in, out  int8  // input / output convention (index+1), 0 for none
	pos      int32 // where the rest under the convention's key starts
	consumed bool  // placed in inputs/output/elsewhere, not repeated in attributes
}

// slots holds the first value seen of each known key.
type slots struct {
	v   [numSlots]pcommon.Value
	has [numSlots]bool
}

func (s *slots) set(k slot, v pcommon.Value) {
	if k != slotNone && !s.has[k] {
		s.v[k], s.has[k] = v, true
	}
}

// first returns the first slot of the list holding a value.
func (s *slots) first(list []slot) (pcommon.Value, bool) {
	for _, k := range list {
		if s.has[k] {
			return s.v[k], true
		}
	}
	return pcommon.Value{}, false
}

// firstStr is first for string facts: non-string values are rendered, and
// empty strings are absent.
func (s *slots) firstStr(list []slot) string {
	str, _ := firstValid(s, list, nonEmptyString)
	return str
}

func nonEmptyString(v pcommon.Value) (string, bool) {
	s := valueString(v)
	return s, s != ""
}

func valueString(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	if v.Type() == pcommon.ValueTypeEmpty {
		return ""
	}
	return v.AsString()
}

// normEnt is a span value copied to a normalized attributes path.
type normEnt struct {
	path string
	v    pcommon.Value
}

// state is the per-call scratch space, pooled.
type state struct {
	w        valueWriter
	attrs    []kv
	convAt   []int32 // indexes in attrs of the members of an inputs or output convention
	span     slots
	resCache resCache
	norms    []normEnt
	code     []int32 // indexes in attrs of the code.* attributes
	customAt []int32 // indexes in attrs of the custom summary keys
	custom   tree    // the custom summary object
	main     tree    // the attributes object
	conv     tree    // an inputs or output convention's value
	sub      tree    // everything else built before the attributes object
	otel     tree    // the attributes.otel object
	otelKeys bool    // the span has attributes under "otel." of its own
	system   string  // gen_ai.system_instructions as encoded in inputs, "" without
	raw      []byte
	events   []int      // indexes of events consumed by a convention
	classes  []keyClass // this span's attribute keys, classified, by position: one of layouts
	layouts  classLayouts
	otelMemo otelMemos  // the otel objects of the last plain spans
	ops      opCache    // the digests of the ops seen last
	refs     opRefCache // the op refs built last
}

func (m *Mapper) getState() *state {
	st, _ := m.pool.Get().(*state)
	if st == nil {
		st = &state{}
		st.custom.shapes = &shapeCache{} // an app's summary keys repeat too
		st.main.shapes = &shapeCache{}
		st.conv.shapes = &shapeCache{} // indexed messages (gen_ai.prompt.0.role, …) keep their paths too
		st.otel.shapes = &shapeCache{} // the otel facts of a source keep their paths too
	}
	st.w.max = m.cfg.MaxValueBytes
	st.attrs, st.convAt, st.norms, st.code, st.events = st.attrs[:0], st.convAt[:0], st.norms[:0], st.code[:0], st.events[:0]
	st.customAt = st.customAt[:0]
	st.custom.reset()
	clear(st.span.has[:]) // values without has are never read
	st.otelKeys = false
	st.main.reset()
	st.conv.reset()
	st.sub.reset()
	st.otel.reset()
	st.raw = st.raw[:0]
	return st
}

// maxPooledBytes keeps one huge span from pinning its buffers in the pool.
const maxPooledBytes = 1 << 20

func (m *Mapper) putState(st *state) {
	if cap(st.raw) > maxPooledBytes {
		return
	}
	// The state keeps references into the last span it mapped until it is
	// reused; the pool drops idle states at the next garbage collections,
	// which bounds that retention. Clearing here would cost every call.
	m.pool.Put(st)
}

// rawMark and rawSince delimit a piece of JSON appended to the arena.
func (st *state) rawSince(start int) string { return arenaString(st.raw[start:]) }

// rawString stores s as a JSON string in the arena.
func (st *state) rawString(s string) string {
	start := len(st.raw)
	st.raw = appendString(st.raw, s)
	return st.rawSince(start)
}

// Map maps one span, with its resource and scope, to a call: every per-span
// field of DESIGN §1–§4. Summary.Usage and Summary.Costs hold the span's own
// usage; StatusCounts count the call alone. See MAPPING.md for every rule.
// The call's memory (ids, JSON texts, usage entries) is its own (see MapTo).
func (m *Mapper) Map(res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) Call {
	return m.MapTo(nil, res, scope, span)
}

// MapTo is Map with the call's ids and JSON texts written in t (see
// Texts) and, when t is recycled (NewRecycledTexts), its usage and cost
// entries taken from t too: for calls that die together, as an exporter's
// INSERT block's do, and then mapping allocates nothing. A nil t is Map.
func (m *Mapper) MapTo(t *Texts, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) Call {
	return m.mapTo(t, res, scope, span, mapWhole)
}

// MapFactsTo is MapTo without the call's Inputs, Output and Attributes,
// the texts that restate the span's own attributes and events (they are
// left nil): every other field, the summary's included, is MapTo's. It is
// what the processor maps of a span when it will not need the texts again
// (no cache of released traces, or ungrouped): they are most of a call's
// memory and much of its mapping work, and the exporter maps them from the
// span itself (MapTextsTo, see ReadCall).
func (m *Mapper) MapFactsTo(t *Texts, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) Call {
	return m.mapTo(t, res, scope, span, mapFacts)
}

// MapTextsTo is the other half of MapFactsTo: only the call's Inputs,
// Output and Attributes, MapTo's, and Kind (every other field is left
// zero). It is what the exporter maps of a span whose annotation holds the
// rest (see ReadCall).
func (m *Mapper) MapTextsTo(t *Texts, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) Call {
	return m.mapTo(t, res, scope, span, mapTexts)
}

// mapParts says what mapTo builds of a call.
type mapParts uint8

const (
	mapWhole mapParts = iota // MapTo
	mapFacts                 // MapFactsTo: all but the texts
	mapTexts                 // MapTextsTo: the texts (and Kind, which they hold)
)

// mapTo is MapTo, building only the parts named.
func (m *Mapper) mapTo(t *Texts, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span, parts mapParts) Call {
	st := m.getState()
	defer m.putState(st)
	var c Call

	if parts != mapTexts {
		c.TraceID, c.ID, c.ParentID = t.hexIDs(span.TraceID(), span.SpanID(), span.ParentSpanID())
		c.StartedAt = span.StartTimestamp().AsTime().UTC()
		if end := span.EndTimestamp(); end != 0 {
			c.EndedAt = end.AsTime().UTC()
		}
	}

	// 1. classify the attributes
	bestIn, bestOut := st.scanAttributes(span.Attributes(), m.cfg.SummaryPrefix)
	rf := st.resourceFacts(res)
	events := span.Events()
	exception := -1
	for i := 0; i < events.Len(); i++ {
		name := events.At(i).Name()
		switch {
		case name == keyExceptionEvent:
			exception = i
		case isMessageEvent(name):
			bestIn = minConv(bestIn, eventConv(inputConventions[:], eventMessages))
		case name == eventChoice:
			bestOut = minConv(bestOut, eventConv(outputConventions[:], eventChoice))
		case name == eventDetails:
			// The event is a convention for the side whose messages it
			// carries: it may hold the output alone, or only instructions.
			attrs := events.At(i).Attributes()
			if c := eventConv(inputConventions[:], eventDetails); c > 0 && hasKey(attrs, inputConventions[c-1].key) {
				bestIn = minConv(bestIn, c)
			}
			if c := eventConv(outputConventions[:], eventDetails); c > 0 && hasKey(attrs, outputConventions[c-1].key) {
				bestOut = minConv(bestOut, c)
			}
		}
	}

	// 2 and 3. the plain facts (Kind, which the attributes hold too,
	// always), status, latency, exception
	c.Kind = st.kind()
	if parts != mapTexts {
		m.factsOf(st, rf, scope, span, exception, &c)
	}

	// 4. inputs, output, attributes, custom summary: built in the arena
	// (in that order), moved together over the scratch written between
	// them, then copied to one allocation the call owns (or into t)
	var built [4][2]int
	if parts != mapFacts {
		built[0] = st.buildInputs(bestIn, events)
		built[1] = st.buildOutput(bestOut, events)
		built[2] = st.buildAttributes(rf, scope, span, c.Kind)
	}
	if parts != mapTexts {
		built[3] = st.buildCustomSummary(m.cfg.SummaryPrefix)
	}
	start := built[0][0]
	if parts == mapFacts {
		start = built[3][0]
	}
	end := start
	for i, p := range built {
		if p[1] > p[0] {
			copy(st.raw[end:], st.raw[p[0]:p[1]])
			built[i] = [2]int{end - start, end - start + p[1] - p[0]}
			end += p[1] - p[0]
		}
	}
	owned, out := t.bytes(st.raw[start:end]), [4][]byte{}
	for i, p := range built {
		if p[1] > p[0] {
			out[i] = owned[p[0]:p[1]:p[1]]
		}
	}
	c.Inputs, c.Output, c.Attributes, c.Summary.Custom = out[0], out[1], out[2], out[3]
	c.NoTexts = parts == mapFacts

	// 5. usage and cost
	if parts != mapTexts {
		m.usageAndCost(t, st, &c)
	}
	return c
}

// factsOf fills c's plain facts, status, latency and exception (steps 2
// and 3 of mapTo; c.Kind is set already).
func (m *Mapper) factsOf(st *state, rf *resFacts, scope pcommon.InstrumentationScope, span ptrace.Span, exception int, c *Call) {
	events := span.Events()
	c.Model = st.span.firstStr(modelSlots[:])
	c.Provider = st.span.firstStr(providerSlots[:])
	c.Operation = st.span.firstStr(operationSlots[:])
	c.DisplayName = st.span.firstStr(displaySlots[:])
	c.ThreadID = firstOf(st.span.firstStr(threadSlots[:]), rf.thread)
	c.WBUserID = firstOf(st.span.firstStr([]slot{sUserID}), rf.user)
	c.WBRunID = firstOf(st.span.firstStr(runIDSlots[:]), rf.run)
	if v, ok := st.span.first([]slot{sIsTurn}); ok {
		c.IsTurn = (v.Type() == pcommon.ValueTypeBool && v.Bool()) || (v.Type() == pcommon.ValueTypeStr && strings.EqualFold(v.Str(), "true"))
	}
	entity, project := m.projectParts(st, rf)
	c.OpName, c.ProjectID, c.OpSafeName = st.opName(entity, project, span.Name(), scope)

	c.Summary.Status = StatusSuccess
	switch {
	case span.Status().Code() == ptrace.StatusCodeError || st.langfuseError():
		c.Summary.Status = StatusError
		c.Exception = exceptionText(events, exception, firstOf(span.Status().Message(), st.span.firstStr([]slot{sLFStatusMsg})))
	case c.EndedAt.IsZero():
		c.Summary.Status = StatusRunning
	}
	c.Summary.Unended = c.EndedAt.IsZero()
	if !c.EndedAt.IsZero() && c.EndedAt.After(c.StartedAt) {
		c.Summary.LatencyMS = c.EndedAt.Sub(c.StartedAt).Milliseconds()
	}
	switch c.Summary.Status {
	case StatusError:
		c.Summary.StatusCounts.Error = 1
	case StatusSuccess:
		c.Summary.StatusCounts.Success = 1
	}
	c.Summary.TraceName = c.DisplayName
	if c.Summary.TraceName == "" {
		c.Summary.TraceName = c.OpSafeName
	}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func minConv(cur, cand int8) int8 {
	if cand != 0 && (cur == 0 || cand < cur) {
		return cand
	}
	return cur
}

func eventConv(list []convention, event string) int8 {
	for i := range list {
		if list[i].event == event {
			return int8(i + 1)
		}
	}
	return 0
}

func hasKey(m pcommon.Map, key string) bool {
	_, ok := m.Get(key)
	return ok
}

func isMessageEvent(name string) bool {
	return messageRole(name) != ""
}

// messageRole is the role of an older GenAI message event, "" for others.
func messageRole(name string) string {
	switch name {
	case "gen_ai.system.message":
		return `"system"`
	case "gen_ai.user.message":
		return `"user"`
	case "gen_ai.assistant.message":
		return `"assistant"`
	case "gen_ai.tool.message":
		return `"tool"`
	}
	return ""
}

// keyClass is what a span attribute key is to the mapper; it depends on
// the key alone.
type keyClass struct {
	key      string
	role     keyRole // exact key: slot, normalized path, conventions
	exact    bool
	in, out  int8   // family conventions (exact keys: role.in/out)
	pos      int32  // where the rest under the convention's key starts
	normPath string // the normalized path of a family member (model_parameters.x, tools.x)
	code     bool   // code.*: part of the op digest
	otel     bool   // "otel" or under "otel."
	consumed bool   // never repeated in attributes as it came
	custom   bool   // a custom summary key: under the prefix, not a reserved one
}

// classify classifies k; summaryPrefix is the mapper's, a state's classes
// serve one mapper.
func classify(k, summaryPrefix string) keyClass {
	c := keyClass{key: k, custom: customSummaryKey(k, summaryPrefix)}
	if r, ok := exactKeys[k]; ok {
		c.role, c.exact = r, true
		c.in, c.out, c.pos = r.in, r.out, int32(len(k)+1)
		c.consumed = (r.norm != "" && r.norm == k) ||
			r.slot == sWandbAttrs || r.slot == sSystemInstructions // merged at the root / placed at attributes.system
	} else if k != "" {
		in, out, pos := familyOf(k)
		c.in, c.out, c.pos = in, out, int32(pos)
		if in == 0 && out == 0 {
			if norm, pos := normFamily(k); norm != "" {
				c.normPath = norm + k[pos:]
			} else {
				c.code = strings.HasPrefix(k, codePrefix)
			}
		}
	}
	c.otel = strings.HasPrefix(k, "otel") && (len(k) == 4 || k[4] == '.')
	return c
}

// classLayouts holds the classes of the last few attribute layouts seen,
// each by position: the spans of one trace alternate between a few kinds
// (model calls, tools, agents), each kind's spans carrying the same keys
// in the same order.
type classLayouts struct {
	sets [4][]keyClass
	used [4]uint64
	tick uint64
}

// pick returns the layout for a span whose first key is first and that has
// n attributes: one that starts with first (with n classes, preferably),
// else the least recently used, to be classified over.
func (l *classLayouts) pick(first string, n int) *[]keyClass {
	at := -1
	for i := range l.sets {
		if s := l.sets[i]; len(s) > 0 && s[0].key == first {
			if at = i; len(s) == n {
				break
			}
		}
	}
	if at < 0 {
		at = 0
		for i := range l.used {
			if l.used[i] < l.used[at] {
				at = i
			}
		}
	}
	l.tick++
	l.used[at] = l.tick
	return &l.sets[at]
}

// scanAttributes records the span's attributes, fills the slots and returns
// the best inputs and output conventions among them. Spans of one
// instrumentation carry the same keys in the same order, so the keys'
// classes are remembered by position (per layout, see classLayouts) and
// reused when the key matches.
func (st *state) scanAttributes(attrs pcommon.Map, summaryPrefix string) (bestIn, bestOut int8) {
	n := 0
	var classes *[]keyClass
	attrs.Range(func(k string, v pcommon.Value) bool {
		if k == AnnotationKey {
			return true
		}
		if classes == nil {
			classes = st.layouts.pick(k, attrs.Len())
		}
		if n == len(*classes) {
			*classes = append(*classes, classify(k, summaryPrefix))
		} else if (*classes)[n].key != k {
			(*classes)[n] = classify(k, summaryPrefix)
		}
		c := &(*classes)[n]
		n++
		at := len(st.attrs)
		u := attrUse{in: c.in, out: c.out, pos: c.pos, consumed: c.consumed}
		switch {
		case c.exact:
			st.span.set(c.role.slot, v)
			if c.role.norm != "" {
				st.addNorm(c.role.norm, v)
			}
		case c.normPath != "":
			st.addNorm(c.normPath, v)
		case c.code:
			st.code = append(st.code, int32(at))
		}
		st.otelKeys = st.otelKeys || c.otel
		if c.custom {
			st.customAt = append(st.customAt, int32(at))
		}
		bestIn = minConv(bestIn, u.in)
		bestOut = minConv(bestOut, u.out)
		a := grow(&st.attrs) // field stores: see tree.next
		a.v, a.use = v, u
		if u.in != 0 || u.out != 0 {
			st.convAt = append(st.convAt, int32(at))
		}
		return true
	})
	if classes != nil {
		st.classes = *classes
	}
	return bestIn, bestOut
}

// addNorm copies v to a normalized path; the first value for a path wins.
func (st *state) addNorm(path string, v pcommon.Value) {
	for i := range st.norms {
		if st.norms[i].path == path {
			return
		}
	}
	n := grow(&st.norms)
	setString(&n.path, path)
	n.v = v
}

// kind normalizes the span kind (see MAPPING.md for the order).
func (st *state) kind() string {
	type rule struct {
		s  slot
		fn func(string) string
	}
	for _, r := range [...]rule{
		{sOIKind, kindOfOpenInference},
		{sTLKind, kindOfTraceloop},
		{sLLMReqType, kindOfRequestType},
		{sOperation, kindOfOperation},
		{sAIOperation, kindOfAIOperation},
		{sLFType, kindOfLangfuse},
	} {
		if st.span.has[r.s] {
			if k := r.fn(valueString(st.span.v[r.s])); k != "" {
				return k
			}
		}
	}
	return ""
}

// projectParts finds the entity and the project, from the resource, then the
// span, then the config; project_id is "entity/project". A project given as
// "entity/project" carries its own entity (then entity is "").
func (m *Mapper) projectParts(st *state, rf *resFacts) (entity, project string) {
	entity = firstOf(rf.entity, st.span.firstStr([]slot{sEntity}))
	project = firstOf(rf.project, st.span.firstStr([]slot{sProject}))
	if project == "" {
		project = firstOf(m.cfg.DefaultProject, rf.service)
	}
	if project == "" {
		project = "default"
	}
	if i := strings.IndexByte(project, '/'); i >= 0 {
		if entity == "" {
			return "", project
		}
		project = project[i+1:]
	}
	if entity == "" {
		entity = m.cfg.DefaultEntity
	}
	return entity, project
}

// exceptionText is the error text of a failed span: the last exception
// event as "type: message", else the status message, else "error".
func exceptionText(events ptrace.SpanEventSlice, exception int, statusMsg string) string {
	if exception >= 0 {
		attrs := events.At(exception).Attributes()
		var typ, msg string
		if v, ok := attrs.Get(keyExceptionType); ok {
			typ = valueString(v)
		}
		if v, ok := attrs.Get(keyExceptionMsg); ok {
			msg = valueString(v)
		}
		switch {
		case typ != "" && msg != "":
			return typ + ": " + msg
		case typ != "":
			return typ
		case msg != "":
			return msg
		}
	}
	if statusMsg != "" {
		return statusMsg
	}
	return "error"
}

// hexIDs returns the trace, span and parent ids in lowercase hex, sharing
// one allocation; an all-zero parent is a root ("").
func hexIDs(trace pcommon.TraceID, span, parent pcommon.SpanID) (string, string, string) {
	var t *Texts
	return t.hexIDs(trace, span, parent)
}

// buildInputs encodes inputs: {"<source key>": value} of the winning
// convention, plus gen_ai.system_instructions; {} when there is none.
func (st *state) buildInputs(best int8, events ptrace.SpanEventSlice) [2]int {
	start := len(st.raw)
	st.raw = append(st.raw, '{')
	if best > 0 {
		conv := &inputConventions[best-1]
		st.raw = appendKey(st.raw, conv.key)
		st.appendConvention(conv, best, true, events)
	}
	st.system = ""
	if v, ok := st.span.first([]slot{sSystemInstructions}); ok {
		st.raw = appendKey(st.raw, keySystemInstr)
		at := len(st.raw)
		st.raw = st.w.appendValue(st.raw, v)
		st.system = st.rawSince(at)
	} else if v, ok := st.detailsAttr(events, keySystemInstr); ok {
		// an operation-details event's, whichever convention the input is
		st.raw = appendKey(st.raw, keySystemInstr)
		st.raw = st.w.appendValue(st.raw, v)
	}
	st.raw = append(st.raw, '}')
	return [2]int{start, len(st.raw)}
}

// buildOutput encodes output: {"<source key>": value}, or null.
func (st *state) buildOutput(best int8, events ptrace.SpanEventSlice) [2]int {
	start := len(st.raw)
	if best == 0 {
		st.raw = append(st.raw, "null"...)
		return [2]int{start, len(st.raw)}
	}
	conv := &outputConventions[best-1]
	st.raw = append(st.raw, '{')
	st.raw = appendKey(st.raw, conv.key)
	st.appendConvention(conv, best, false, events)
	st.raw = append(st.raw, '}')
	return [2]int{start, len(st.raw)}
}

// appendConvention appends the value of a convention to the arena and marks
// what it consumed.
func (st *state) appendConvention(conv *convention, idx int8, input bool, events ptrace.SpanEventSlice) {
	switch conv.event {
	case "":
		st.conv.reset()
		for _, i := range st.convAt {
			a := &st.attrs[i]
			if (input && a.use.in == idx) || (!input && a.use.out == idx) {
				st.conv.add(st.classes[i].key, int(a.use.pos), a.v)
				a.use.consumed = true
			}
		}
		st.raw = st.conv.appendValue(st.raw, &st.w)
	case eventMessages:
		st.appendEventList(events, messageRole)
	case eventChoice:
		st.appendEventList(events, func(name string) string {
			if name == eventChoice {
				return "-"
			}
			return ""
		})
	case eventDetails:
		v, _ := st.detailsAttr(events, conv.key)
		st.raw = st.w.appendValue(st.raw, v)
	}
}

// appendEventList appends a list of one object per event that pick
// accepts (non-empty result), made of the event's attributes, and marks
// those events consumed. A result other than "-" is the JSON role the object
// gets when the event has no role attribute.
func (st *state) appendEventList(events ptrace.SpanEventSlice, pick func(name string) string) {
	st.raw = append(st.raw, '[')
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		role := pick(ev.Name())
		if role == "" {
			continue
		}
		st.sub.reset()
		if _, has := ev.Attributes().Get("role"); !has && role != "-" {
			st.sub.addRaw("role", 0, role)
		}
		st.addAll(&st.sub, ev.Attributes())
		if st.raw[len(st.raw)-1] != '[' {
			st.raw = append(st.raw, ',')
		}
		st.raw = st.sub.appendObject(st.raw, &st.w)
		st.consumeEvent(i)
	}
	st.raw = append(st.raw, ']')
}

// detailsAttr finds an attribute of the first operation-details event that has it.
func (st *state) detailsAttr(events ptrace.SpanEventSlice, key string) (pcommon.Value, bool) {
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		if ev.Name() == eventDetails {
			if v, ok := ev.Attributes().Get(key); ok {
				return v, true
			}
		}
	}
	return pcommon.Value{}, false
}

func (st *state) consumeEvent(i int) { st.events = append(st.events, i) }

func (st *state) eventConsumed(i int) bool {
	for _, j := range st.events {
		if j == i {
			return true
		}
	}
	return false
}

// addAll adds every attribute of m to t, un-flattened.
func (st *state) addAll(t *tree, m pcommon.Map) {
	m.Range(func(k string, v pcommon.Value) bool {
		t.add(k, 0, v)
		return true
	})
}

// appendAttrsObject appends m's attributes un-flattened, via the sub tree.
func (st *state) appendAttrsObject(m pcommon.Map) {
	st.sub.reset()
	st.addAll(&st.sub, m)
	st.raw = st.sub.appendObject(st.raw, &st.w)
}

// buildAttributes encodes the attributes object: normalized keys, the otel
// facts, wandb.attributes at the root, then every span attribute not
// consumed, all un-flattened together.
func (st *state) buildAttributes(rf *resFacts, scope pcommon.InstrumentationScope, span ptrace.Span, kind string) [2]int {
	t := &st.main
	// normalized keys
	if kind != "" {
		t.addRaw("kind", 0, st.rawString(kind))
	}
	for _, n := range [...]struct {
		key   string
		slots []slot
	}{{"model", modelSlots[:]}, {"provider", providerSlots[:]}, {"operation", operationSlots[:]}} {
		if v, ok := st.span.first(n.slots); ok {
			t.add(n.key, 0, v)
		}
	}
	if st.system != "" {
		t.addRaw("system", 0, st.system) // as inputs has it: parsed and cut once
	}
	for _, n := range st.norms {
		t.add(n.path, 0, n.v)
	}
	for _, k := range [...]slot{sInvocationParams, sLFModelParams} {
		if v := st.span.v[k]; st.span.has[k] && v.Type() == pcommon.ValueTypeStr {
			st.addJSONMembers(t, "model_parameters.", v.Str())
		}
	}
	// OTel facts of the span, its scope and resource
	st.addOTel(t, rf, scope, span)
	// wandb.attributes at the root
	if v, ok := st.span.first([]slot{sWandbAttrs}); ok {
		switch v.Type() {
		case pcommon.ValueTypeMap:
			v.Map().Range(func(k string, mv pcommon.Value) bool {
				t.add(k, 0, mv)
				return true
			})
		case pcommon.ValueTypeStr:
			if !st.addJSONMembers(t, "", v.Str()) {
				t.add("wandb.attributes", 0, v) // not an object: kept as it came
			}
		default:
			t.add("wandb.attributes", 0, v)
		}
	}
	// the remaining span attributes
	for i := range st.attrs {
		if !st.attrs[i].use.consumed {
			t.add(st.classes[i].key, 0, st.attrs[i].v)
		}
	}
	start := len(st.raw)
	st.raw = t.appendObject(st.raw, &st.w)
	return [2]int{start, len(st.raw)}
}

// addJSONMembers adds the members of a JSON object text to t under prefix,
// un-flattened; false when s is not a JSON object (or too long to parse).
func (st *state) addJSONMembers(t *tree, prefix, s string) bool {
	if len(s) < 2 || s[0] != '{' || (st.w.max > 0 && len(s) > st.w.max) {
		return false
	}
	start := len(st.raw)
	out, ok := appendCompactJSON(st.raw, s)
	if !ok {
		return false
	}
	st.raw = out
	obj := st.rawSince(start)
	t.volatile = true // the members' keys are views of the arena (see tree.same)
	eachMember(obj, func(k, v string) {
		if prefix != "" {
			k = t.join(prefix, k)
		}
		t.addRaw(k, 0, v)
	})
	return true
}

var spanKinds = [...]string{
	ptrace.SpanKindUnspecified: `"unspecified"`,
	ptrace.SpanKindInternal:    `"internal"`,
	ptrace.SpanKindServer:      `"server"`,
	ptrace.SpanKindClient:      `"client"`,
	ptrace.SpanKindProducer:    `"producer"`,
	ptrace.SpanKindConsumer:    `"consumer"`,
}

var statusCodes = [...]string{
	ptrace.StatusCodeUnset: `"unset"`,
	ptrace.StatusCodeOk:    `"ok"`,
	ptrace.StatusCodeError: `"error"`,
}

// addOTel adds the span's OTel facts under "otel": span kind, status, trace
// state, resource, scope, events not consumed, links and dropped counts.
func (st *state) addOTel(main *tree, rf *resFacts, scope pcommon.InstrumentationScope, span ptrace.Span) {
	key, cacheable := st.otelKeyOf(scope, span)
	if cacheable {
		if m := st.otelMemo.find(&key); m != nil {
			main.addRaw("otel", 0, arenaString(m.json))
			return
		}
	}
	t := &st.otel
	t.reset()
	if k := int(span.Kind()); k >= 0 && k < len(spanKinds) {
		t.addRaw("span_kind", 0, spanKinds[k])
	}
	status := span.Status()
	if c := int(status.Code()); c >= 0 && c < len(statusCodes) {
		t.addRaw("status.code", 0, statusCodes[c])
	}
	if msg := status.Message(); msg != "" {
		t.addRaw("status.message", 0, st.rawString(msg))
	}
	if ts := span.TraceState().AsRaw(); ts != "" {
		t.addRaw("trace_state", 0, st.rawString(ts))
	}
	if f := span.Flags(); f != 0 {
		t.addRaw("flags", 0, st.rawInt(int64(f)))
	}
	if rf.json != "" {
		t.addRaw("resource", 0, rf.json)
	}
	if n := st.resCache.dropped; n > 0 {
		t.addRaw("resource_dropped_attributes_count", 0, st.rawInt(int64(n)))
	}
	if name := scope.Name(); name != "" {
		t.addRaw("scope.name", 0, st.rawString(name))
	}
	if version := scope.Version(); version != "" {
		t.addRaw("scope.version", 0, st.rawString(version))
	}
	if scope.Attributes().Len() > 0 {
		start := len(st.raw)
		st.appendAttrsObject(scope.Attributes())
		t.addRaw("scope.attributes", 0, st.rawSince(start))
	}
	if n := scope.DroppedAttributesCount(); n > 0 {
		t.addRaw("scope.dropped_attributes_count", 0, st.rawInt(int64(n)))
	}
	events := span.Events()
	if events.Len() > len(st.events) {
		start := len(st.raw)
		st.raw = append(st.raw, '[')
		for i := 0; i < events.Len(); i++ {
			if st.eventConsumed(i) {
				continue
			}
			ev := events.At(i)
			if st.raw[len(st.raw)-1] != '[' {
				st.raw = append(st.raw, ',')
			}
			st.raw = appendKeyStr(append(st.raw, '{'), "name", ev.Name())
			st.raw = appendTime(appendKey(st.raw, "time"), ev.Timestamp())
			st.closeWithAttributes(ev.Attributes(), ev.DroppedAttributesCount())
		}
		st.raw = append(st.raw, ']')
		t.addRaw("events", 0, st.rawSince(start))
	}
	if links := span.Links(); links.Len() > 0 {
		start := len(st.raw)
		st.raw = append(st.raw, '[')
		for i := 0; i < links.Len(); i++ {
			l := links.At(i)
			if i > 0 {
				st.raw = append(st.raw, ',')
			}
			tid, sid, _ := hexIDs(l.TraceID(), l.SpanID(), pcommon.SpanID{})
			st.raw = appendKeyStr(append(st.raw, '{'), "trace_id", tid)
			st.raw = appendKeyStr(st.raw, "span_id", sid)
			if ts := l.TraceState().AsRaw(); ts != "" {
				st.raw = appendKeyStr(st.raw, "trace_state", ts)
			}
			st.closeWithAttributes(l.Attributes(), l.DroppedAttributesCount())
		}
		st.raw = append(st.raw, ']')
		t.addRaw("links", 0, st.rawSince(start))
	}
	for _, d := range [...]struct {
		key string
		n   uint32
	}{
		{"dropped_attributes_count", span.DroppedAttributesCount()},
		{"dropped_events_count", span.DroppedEventsCount()},
		{"dropped_links_count", span.DroppedLinksCount()},
	} {
		if d.n > 0 {
			t.addRaw(d.key, 0, st.rawInt(int64(d.n)))
		}
	}
	if st.otelKeys {
		// merge with the span's own otel.* attributes, path by path
		for i := range t.ents {
			main.addRaw(main.join("otel.", t.ents[i].key), 0, t.ents[i].raw)
		}
		return
	}
	start := len(st.raw)
	st.raw = t.appendObject(st.raw, &st.w)
	main.addRaw("otel", 0, st.rawSince(start))
	if cacheable && len(st.raw)-start <= maxOTelMemo {
		st.otelMemo.add(&key, st.raw[start:])
	}
}

// otelMemo is the otel object of a span whose object depends on its
// resource, scope, kind, status code and flags alone (the span has no
// status message, trace state, events left over, links or dropped counts,
// nor otel.* attributes of its own) and whose resource facts are cached
// (their generation then names them): the spans of one instrumentation
// repeat it span after span.
type otelMemo struct {
	key     otelKey
	scope   []byte // the key's scope name, then version
	nameLen int
	json    []byte
	valid   bool
}

// otelKey is what a plain span's otel object depends on.
type otelKey struct {
	resGen              uint64 // resCache.gen: the resource's facts
	kind                ptrace.SpanKind
	code                ptrace.StatusCode
	flags               uint32
	scopeName, scopeVer string // the span's; the memo keeps copies in scope
}

// maxOTelMemo keeps an outsized otel object (a huge resource) from staying
// pinned in the pooled state.
const maxOTelMemo = 16 << 10

// otelKeyOf returns what the span's otel object depends on, and false when
// it depends on more (see otelMemo).
func (st *state) otelKeyOf(scope pcommon.InstrumentationScope, span ptrace.Span) (otelKey, bool) {
	status := span.Status()
	if st.otelKeys || !st.resCache.valid || status.Message() != "" || span.TraceState().AsRaw() != "" ||
		scope.Attributes().Len() > 0 || scope.DroppedAttributesCount() > 0 ||
		span.Events().Len() > len(st.events) || span.Links().Len() > 0 ||
		span.DroppedAttributesCount() > 0 || span.DroppedEventsCount() > 0 || span.DroppedLinksCount() > 0 {
		return otelKey{}, false
	}
	return otelKey{resGen: st.resCache.gen, kind: span.Kind(), code: status.Code(), flags: span.Flags(),
		scopeName: scope.Name(), scopeVer: scope.Version()}, true
}

// otelMemos are the otel objects of the last few plain spans: the spans
// of a trace alternate between a few kinds and status codes (an agent's
// internal spans, its model calls as clients).
type otelMemos struct {
	m    [4]otelMemo
	next int // the memo to replace next
}

// find returns the memo of key k, or nil.
func (ms *otelMemos) find(k *otelKey) *otelMemo {
	for i := range ms.m {
		if ms.m[i].holds(k) {
			return &ms.m[i]
		}
	}
	return nil
}

// add remembers json as the otel object of key k, in place of the oldest.
func (ms *otelMemos) add(k *otelKey, json []byte) {
	ms.m[ms.next].set(k, json)
	ms.next = (ms.next + 1) % len(ms.m)
}

// holds reports whether the memo is the otel object of key k.
func (m *otelMemo) holds(k *otelKey) bool {
	return m.valid && m.key.resGen == k.resGen && m.key.kind == k.kind && m.key.code == k.code && m.key.flags == k.flags &&
		m.nameLen == len(k.scopeName) && len(m.scope) == m.nameLen+len(k.scopeVer) &&
		string(m.scope[:m.nameLen]) == k.scopeName && string(m.scope[m.nameLen:]) == k.scopeVer
}

// set remembers json as the otel object of key k, copying what it keeps:
// the span's strings and the arena are not the memo's.
func (m *otelMemo) set(k *otelKey, json []byte) {
	m.key = otelKey{resGen: k.resGen, kind: k.kind, code: k.code, flags: k.flags}
	m.scope = append(append(m.scope[:0], k.scopeName...), k.scopeVer...)
	m.nameLen = len(k.scopeName)
	m.json = append(m.json[:0], json...)
	m.valid = true
}

// closeWithAttributes ends an event or link object with its attributes
// and dropped count.
func (st *state) closeWithAttributes(attrs pcommon.Map, dropped uint32) {
	if attrs.Len() > 0 {
		st.raw = appendKey(st.raw, "attributes")
		st.appendAttrsObject(attrs)
	}
	if dropped > 0 {
		st.raw = appendKeyInt(st.raw, "dropped_attributes_count", int64(dropped))
	}
	st.raw = append(st.raw, '}')
}

func (st *state) rawInt(n int64) string {
	start := len(st.raw)
	st.raw = strconv.AppendInt(st.raw, n, 10)
	return st.rawSince(start)
}

// appendTime appends a timestamp as an RFC 3339 UTC string (null for 0).
func appendTime(b []byte, ts pcommon.Timestamp) []byte {
	if ts == 0 {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = ts.AsTime().UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// reservedSummaryKeys are the summary's computed top-level keys; custom keys
// can never take them.
func reservedSummaryKey(k string) bool {
	return k == "usage" || k == "weave" || k == "status_counts"
}

// customSummaryKey reports whether the attribute key k is a custom summary
// key: under the prefix (a non-empty one), its first segment not reserved.
func customSummaryKey(k, prefix string) bool {
	if prefix == "" || len(k) <= len(prefix) || !strings.HasPrefix(k, prefix) {
		return false
	}
	first := k[len(prefix):]
	if i := strings.IndexByte(first, '.'); i >= 0 {
		first = first[:i]
	}
	return !reservedSummaryKey(first)
}

// buildCustomSummary encodes the app's summary keys (attributes under the
// prefix, un-flattened), or nil when there are none.
func (st *state) buildCustomSummary(prefix string) [2]int {
	if len(st.customAt) == 0 {
		return [2]int{}
	}
	for _, i := range st.customAt {
		st.custom.add(st.classes[i].key, len(prefix), st.attrs[i].v)
	}
	start := len(st.raw)
	st.raw = st.custom.appendObject(st.raw, &st.w)
	return [2]int{start, len(st.raw)}
}

// eachMember calls fn with each member of a compact, valid JSON object:
// the unquoted key and the raw value.
func eachMember(obj string, fn func(k, v string)) {
	i := 1
	for i < len(obj)-1 {
		kEnd := skipString(obj, i)
		k := obj[i+1 : kEnd-1]
		if strings.IndexByte(k, '\\') >= 0 {
			var s string
			if json.Unmarshal(bytesOf(obj[i:kEnd]), &s) == nil {
				k = s
			}
		}
		i = kEnd + 1 // past ':'
		vEnd := skipValue(obj, i)
		fn(k, obj[i:vEnd])
		i = vEnd
		if i < len(obj) && obj[i] == ',' {
			i++
		}
	}
}

// skipString returns the index just past the JSON string starting at i.
func skipString(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// skipValue returns the index just past the compact JSON value starting at i.
func skipValue(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = skipString(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	j := i
	for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' {
		j++
	}
	return j
}
