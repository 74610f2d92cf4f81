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

// The usage_details member names the usage details read (the first
// present wins); they are parts of the input or output sums too.
var (
	lfCacheReadKeys = []string{"input_cached_tokens", "input_cache_read", "cache_read_input_tokens"}
	lfCacheMakeKeys = []string{"input_cache_creation", "cache_creation_input_tokens"}
	lfReasoningKeys = []string{"output_reasoning_tokens", "output_reasoning", "reasoning_tokens"}
)

// lfUsage holds the counts read from usage_details.
type lfUsage struct {
	in, out, total, cacheRead, cacheMake, reasoning             int64
	hasIn, hasOut, hasTotal, hasCacheRead, hasCacheMake, hasRsn bool
}

// langfuseUsage reads usage_details as Langfuse counts it: each member is
// a usage type of its own, disjoint from the others, and the input is the
// sum of the members whose name contains "input" (the SDK's OpenAI
// integration writes "input" as the prompt tokens less the cached and
// audio ones, which come as "input_cached_tokens", "input_audio_tokens"),
// the output likewise; "total" is the total. OpenAI's own names, which
// include their details, count only when no such member is there.
func (st *state) langfuseUsage() (u lfUsage) {
	var prompt, completion, totalTokens int64
	var hasPrompt, hasCompletion, hasTotalTokens bool
	rank := [3]int{len(lfCacheReadKeys), len(lfCacheMakeKeys), len(lfReasoningKeys)}
	detail := func(name string, n int64, keys []string, r *int, v *int64, has *bool) {
		for i, k := range keys {
			if k == name && i < *r {
				*r, *v, *has = i, n, true
			}
		}
	}
	st.eachLFNumber(sLFUsage, func(name, num string) {
		n, ok := jsonCount(num)
		if !ok {
			return
		}
		switch {
		case strings.Contains(name, "input"):
			u.in, u.hasIn = u.in+n, true
		case strings.Contains(name, "output"):
			u.out, u.hasOut = u.out+n, true
		case name == "total":
			u.total, u.hasTotal = n, true
		case name == "prompt_tokens":
			prompt, hasPrompt = n, true
		case name == "completion_tokens":
			completion, hasCompletion = n, true
		case name == "total_tokens":
			totalTokens, hasTotalTokens = n, true
		}
		detail(name, n, lfCacheReadKeys, &rank[0], &u.cacheRead, &u.hasCacheRead)
		detail(name, n, lfCacheMakeKeys, &rank[1], &u.cacheMake, &u.hasCacheMake)
		detail(name, n, lfReasoningKeys, &rank[2], &u.reasoning, &u.hasRsn)
	})
	if !u.hasIn {
		u.in, u.hasIn = prompt, hasPrompt
	}
	if !u.hasOut {
		u.out, u.hasOut = completion, hasCompletion
	}
	if !u.hasTotal {
		u.total, u.hasTotal = totalTokens, hasTotalTokens
	}
	return u
}

// langfuseCost reads cost_details: its "total", "input" and "output"
// members, in USD.
func (st *state) langfuseCost() (total, in, out float64, hasTotal, hasIn, hasOut bool) {
	st.eachLFNumber(sLFCost, func(name, num string) {
		f, ok := jsonUSD(num)
		if !ok {
			return
		}
		switch name {
		case "total":
			total, hasTotal = f, true
		case "input":
			in, hasIn = f, true
		case "output":
			out, hasOut = f, true
		}
	})
	return total, in, out, hasTotal, hasIn, hasOut
}

// eachLFNumber calls f with the number members of the JSON object text
// held by slot k (eachNumberMember). A value that is not an object text
// (or not valid JSON) yields nothing: it stays visible in attributes only.
func (st *state) eachLFNumber(k slot, f func(name, num string)) {
	v := st.span.v[k]
	if !st.span.has[k] || v.Type() != pcommon.ValueTypeStr {
		return
	}
	s := v.Str()
	if len(s) < 2 || s[0] != '{' || (st.w.max > 0 && len(s) > st.w.max) {
		return
	}
	// Compacted into the scratch past what is written, then given back:
	// valid, and with no whitespace for the walk to skip. (The call's
	// texts are copied out of the scratch before usage is read.)
	mark := len(st.raw)
	out, ok := appendCompactJSON(st.raw, s)
	st.raw = out[:mark]
	if ok && len(out) > mark {
		eachNumberMember(unsafe.String(&out[mark], len(out)-mark), f)
	}
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
