package callmap

import (
	"math"
	"strconv"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The Langfuse SDK (v3 and later, built on OpenTelemetry) writes its
// observations' facts under langfuse.observation.*; usage and costs come as
// JSON object texts. MAPPING.md lists what is read from them.

// langfuseError reports whether the span is a Langfuse observation ended
// with level ERROR, which is how that SDK's users mark a failure: it does
// not set the span's status.
func (st *state) langfuseError() bool {
	return st.span.has[sLFLevel] && strings.EqualFold(valueString(st.span.v[sLFLevel]), "ERROR")
}

// The usage_details members each usage field reads, the first present
// winning: Langfuse's own names, then the OpenAI-style names its SDK's
// integrations pass through.
var lfUsageKeys = [...][]string{
	lfIn:        {"input", "prompt_tokens", "input_tokens"},
	lfOut:       {"output", "completion_tokens", "output_tokens"},
	lfTotal:     {"total", "total_tokens"},
	lfCacheRead: {"input_cached_tokens", "input_cache_read", "cache_read_input_tokens"},
	lfCacheMake: {"input_cache_creation", "cache_creation_input_tokens"},
	lfReasoning: {"output_reasoning_tokens", "output_reasoning", "reasoning_tokens"},
}

// The cost_details members (USD) each app cost reads.
var lfCostKeys = [...][]string{
	lfCostTotal: {"total"},
	lfCostIn:    {"input"},
	lfCostOut:   {"output"},
}

const (
	lfIn = iota
	lfOut
	lfTotal
	lfCacheRead
	lfCacheMake
	lfReasoning
	lfUsageFields
)

const (
	lfCostTotal = iota
	lfCostIn
	lfCostOut
	lfCostFields
)

// lfNumbers reads the members named in keys from the JSON object text
// held by slot k: found[i] is the number text of the first name of
// keys[i] present, "" when none is. A value that is not an object text (or
// not valid JSON) yields nothing: it stays visible in attributes only.
// The texts found live in st's scratch: read them before st writes again.
func (st *state) lfNumbers(k slot, keys [][]string, found []string) {
	v := st.span.v[k]
	if !st.span.has[k] || v.Type() != pcommon.ValueTypeStr {
		return
	}
	s := v.Str()
	if len(s) < 2 || s[0] != '{' || (st.w.max > 0 && len(s) > st.w.max) {
		return
	}
	// Compacted in the scratch past what is written: valid, and with no
	// whitespace left for the walk below to skip. (The texts are copied
	// out already; the scratch is only grown here.)
	mark := len(st.raw)
	out, ok := appendCompactJSON(st.raw, s)
	st.raw = out[:mark]
	if !ok {
		return
	}
	if len(out) == mark {
		return
	}
	var rank [lfUsageFields]int8 // position in keys[i] of found[i]'s name
	eachNumberMember(unsafe.String(&out[mark], len(out)-mark), func(name, num string) {
		for i, names := range keys {
			for r, n := range names {
				if n == name && (found[i] == "" || int8(r) < rank[i]) {
					found[i], rank[i] = num, int8(r)
				}
			}
		}
	})
}

// eachNumberMember calls f with every member of the JSON object text s
// whose value is a number or a string without escapes (the caller parses
// it: counts may come as decimal strings): its name as written and the
// number's text or the string's contents.
// s must be compact and valid (appendCompactJSON's output); nested
// containers are skipped.
func eachNumberMember(s string, f func(name, num string)) {
	if len(s) < 2 || s[0] != '{' {
		return
	}
	for i := 1; i < len(s) && s[i] == '"'; {
		end := scanString(s, i)
		if end < 0 || end >= len(s) || s[end] != ':' {
			return
		}
		name := s[i+1 : end-1]
		i = end + 1
		j := skipJSONValue(s, i)
		if j < 0 {
			return
		}
		switch c := s[i]; {
		case c == '-' || (c >= '0' && c <= '9'):
			f(name, s[i:j])
		case c == '"' && !strings.ContainsRune(s[i+1:j-1], '\\'):
			f(name, s[i+1:j-1])
		}
		if j < len(s) && s[j] == ',' {
			j++
		}
		i = j
	}
}

// skipJSONValue returns the index after the value at s[i] of a compact,
// valid JSON text, or -1.
func skipJSONValue(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		return scanString(s, i)
	case '{', '[':
		depth := 0
		for i < len(s) {
			switch s[i] {
			case '"':
				if i = scanString(s, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for j := i; j < len(s); j++ {
		if c := s[j]; c == ',' || c == '}' || c == ']' {
			return j
		}
	}
	return len(s)
}

// jsonCount reads a token count from a number text: a non-negative integer,
// also written as an integral decimal (412.0).
func jsonCount(num string) (int64, bool) {
	if num == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		return n, n >= 0
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f >= math.MaxInt64 || f != math.Trunc(f) {
		return 0, false
	}
	return int64(f), true
}

// jsonUSD reads a cost in USD from a number text: finite and non-negative.
func jsonUSD(num string) (float64, bool) {
	if num == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	return f, err == nil && f >= 0 && !math.IsInf(f, 0) && !math.IsNaN(f)
}
