package callmap

import (
	"encoding/base64"
	"math"
	"strconv"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// JSON is built by appending into byte buffers: no reflection, no
// map[string]any trees. Every writer here produces valid UTF-8 JSON from any
// input (see MAPPING.md for the treatment of each OTLP value kind).

// truncMarker introduces the note appended to a value cut at MaxValueBytes.
const truncMarker = "…[truncated "

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	if len(s) <= 256 && plainASCII(s) { // keys, names, ids, URLs: one scan, one copy
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	return appendStringSlow(b, s)
}

func appendStringSlow(b []byte, s string) []byte {
	b = append(b, '"')
	valid := utf8.ValidString(s) // then only ASCII needs a look
	start := 0
	for i := 0; i < len(s); {
		i = plainRun(s, i, !valid)
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat appends f as a JSON number, formatted as encoding/json does.
// NaN and ±Inf have no JSON number; they become the strings "NaN",
// "Infinity" and "-Infinity" (the spelling of protobuf's JSON mapping).
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	if out, ok := appendShortFloat(b, f); ok {
		return out
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendShortFloat appends f as appendFloat does when f is a decimal with
// few fractional digits (0.7, 1, 0.95, 1234.5 — what span attributes such
// as temperatures, scores and sizes hold): the fewest fractional digits k
// whose nearest integer at that scale, divided back, is f. With both the
// integer (< 2^53) and 10^k exact, that division is the correctly rounded
// parse of the decimal, so the test is exact and the digits are the
// shortest. ok is false for anything else; strconv's general algorithm,
// several times dearer, takes those.
func appendShortFloat(b []byte, f float64) ([]byte, bool) {
	a := math.Abs(f)
	if !(a >= 1e-6 && a < 1e15) {
		return b, false
	}
	for k := 0; k <= maxShortFloatDigits; k++ {
		m := a * exactPow10[k]
		if m >= 1<<53 {
			break
		}
		r := math.Round(m)
		if r/exactPow10[k] != a {
			continue
		}
		var tmp [24]byte
		d := strconv.AppendUint(tmp[:0], uint64(r), 10)
		return appendSignedDecimal(b, f < 0, d, len(d)-1-k), true
	}
	return b, false
}

// maxShortFloatDigits bounds appendShortFloat's search: past it the
// general algorithm is as cheap as more rounds.
const maxShortFloatDigits = 8

// appendCost appends a USD amount or price. Costs are sums of products of
// decimal prices, so binary noise shows up (0.0045000000000000005); rounding
// to twelve significant digits drops it and keeps far more precision than
// money needs. The result is what appendFloat writes for the rounded value:
// a decimal of at most 15 digits parses back to the float whose shortest
// form is those digits without trailing zeros, so the digits of one
// fixed-precision formatting are laid out directly (a parse and a second
// formatting cost several times as much, and a summary has up to nine
// costs per model).
func appendCost(b []byte, f float64) []byte {
	if abs := math.Abs(f); abs < smallestNormal || math.IsNaN(f) || math.IsInf(f, 0) {
		return appendCostSlow(b, f)
	}
	var tmp [32]byte
	var digits []byte
	var exp int
	if n, e, ok := roundedCostDigits(math.Abs(f)); ok {
		digits, exp = strconv.AppendUint(tmp[:0], dropTrailingZeros(n), 10), e
	} else {
		e := strconv.AppendFloat(tmp[:0], math.Abs(f), 'e', costDigits-1, 64) // d.ddddddddddde±dd[d]
		e[1] = e[0]                                                           // drop the point
		digits = e[1 : costDigits+1]
		for _, c := range e[costDigits+3:] { // after "e±"
			exp = exp*10 + int(c-'0')
		}
		if e[costDigits+2] == '-' {
			exp = -exp
		}
	}
	return appendSignedDecimal(b, f < 0, digits, exp)
}

// roundedCostDigits rounds a > 0 to twelve significant digits with float
// arithmetic: n (12 digits, trailing zeros kept) × 10^(exp-11). Scaling by
// an exact power of ten rounds once, so the product is within 1.2e-4 of
// the exact one; ok is false when that could change the rounding (a
// fraction near one half) or the scale is not exact, and strconv decides.
// Most costs take this path: it is several times cheaper than formatting.
func roundedCostDigits(a float64) (n uint64, exp int, ok bool) {
	_, e2 := math.Frexp(a)         // a in [2^(e2-1), 2^e2)
	exp = ((e2 - 1) * 78913) >> 18 // floor((e2-1)·log10 2): floor(log10 a) or one less
	k := costDigits - 1 - exp
	if k < 0 || k >= len(exactPow10) {
		return 0, 0, false
	}
	m := a * exactPow10[k]
	if m >= 1e12 { // the estimate was one low
		if k--; k < 0 {
			return 0, 0, false
		}
		exp++
		m = a * exactPow10[k]
	}
	if m < 1e11 {
		return 0, 0, false
	}
	if frac := m - math.Floor(m); frac > 0.499 && frac < 0.501 {
		return 0, 0, false
	}
	n = uint64(math.Round(m))
	if n == 1e12 { // rounding carried into a thirteenth digit
		n, exp = 1e11, exp+1
	}
	return n, exp, true
}

// dropTrailingZeros divides n > 0 by ten while it ends in a zero, by four
// and two zeros at a time first: the twelve digits of a cost are mostly a
// few digits and zeros (a price times a count of tokens), and formatting
// the zeros only to cut them off costs more.
func dropTrailingZeros(n uint64) uint64 {
	for n%10000 == 0 {
		n /= 10000
	}
	if n%100 == 0 {
		n /= 100
	}
	if n%10 == 0 {
		n /= 10
	}
	return n
}

// exactPow10 holds the powers of ten a float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// appendPrice appends a unit price as appendCost does. Unit prices come
// from the price table, so a handful of values recur call after call; their
// text is remembered (a fixed table, so memory stays bounded whatever the
// prices) and formatting, the dearest part of a summary, is skipped.
func appendPrice(b []byte, f float64) []byte {
	bits := math.Float64bits(f)
	slot := &priceTexts[priceSlot(bits)]
	if p := slot.Load(); p != nil && p.bits == bits {
		return append(b, p.text...)
	}
	at := len(b)
	b = appendCost(b, f)
	slot.Store(&priceText{bits: bits, text: string(b[at:])})
	return b
}

const priceTextBits = 10

// priceSlot spreads the bits of a float over the table (Fibonacci hashing).
func priceSlot(bits uint64) uint64 { return (bits * 0x9e3779b97f4a7c15) >> (64 - priceTextBits) }

// priceTexts caches appendPrice's output by the float's bits; entries are
// replaced whole, so readers on other goroutines see one or the other.
var priceTexts [1 << priceTextBits]atomic.Pointer[priceText]

type priceText struct {
	bits uint64
	text string
}

// smallestNormal is the least normal float64: below it fewer than twelve
// digits are exact, and the digit layout's premise does not hold.
const smallestNormal = 0x1p-1022

// appendCostSlow is appendCost by its definition: format with twelve
// significant digits, parse, append the shortest form.
func appendCostSlow(b []byte, f float64) []byte {
	var tmp [32]byte
	if r, err := strconv.ParseFloat(string(strconv.AppendFloat(tmp[:0], f, 'g', costDigits, 64)), 64); err == nil {
		f = r
	}
	return appendFloat(b, f)
}

// costDigits is the number of significant digits costs are rounded to.
const costDigits = 12

// appendSignedDecimal appends ±d[0].d[1:] × 10^exp, trailing zeros of d
// dropped, as appendDecimal lays it out.
func appendSignedDecimal(b []byte, neg bool, d []byte, exp int) []byte {
	for len(d) > 1 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
	}
	if neg {
		b = append(b, '-')
	}
	return appendDecimal(b, d, exp)
}

// appendDecimal appends d[0].d[1:] × 10^exp (no trailing zeros in d) the way
// appendFloat writes that value: plain notation from 1e-6 up to 1e21,
// exponent notation (e-7, e+21) outside.
func appendDecimal(b, d []byte, exp int) []byte {
	switch {
	case exp < -6 || exp >= 21:
		b = append(b, d[0])
		if len(d) > 1 {
			b = append(append(b, '.'), d[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b, exp = append(b, '-'), -exp
		} else {
			b = append(b, '+')
			if exp < 10 {
				b = append(b, '0')
			}
		}
		return strconv.AppendInt(b, int64(exp), 10)
	case exp < 0:
		b = append(b, "0."...)
		for i := -1; i > exp; i-- {
			b = append(b, '0')
		}
		return append(b, d...)
	case exp+1 >= len(d):
		b = append(b, d...)
		for i := len(d); i <= exp; i++ {
			b = append(b, '0')
		}
		return b
	default:
		b = append(b, d[:exp+1]...)
		return append(append(b, '.'), d[exp+1:]...)
	}
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// end inside a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	// back up at most 3 bytes to the start of the rune crossing the cut
	for j := 0; j < utf8.UTFMax && i > 0 && !utf8.RuneStart(s[i]); j++ {
		i--
	}
	return s[:i]
}

// appendTruncNote appends the visible marker of a cut value, inside an open
// JSON string: "…[truncated N bytes]".
func appendTruncNote(b []byte, size int) []byte {
	b = append(b, truncMarker...)
	b = strconv.AppendInt(b, int64(size), 10)
	return append(b, " bytes]"...)
}

// bytesOf views s as bytes without copying; the result must not be modified.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// valueWriter appends pcommon values as JSON, applying the value cap and
// parsing strings that hold JSON.
type valueWriter struct {
	max    int // MaxValueBytes; 0 = no limit
	floats [1 << floatMemoBits]floatText
}

// floatText is a float's JSON text as appendFloat writes it. The floats of
// span attributes (temperatures, top_p, scores) recur span after span and
// most take appendShortFloat's rounds of multiplying and dividing; a state's
// writer remembers the last text of each slot (a fixed table: no
// allocation, however many floats come).
type floatText struct {
	bits uint64
	n    uint8 // 0: empty
	text [maxFloatText]byte
}

const (
	floatMemoBits = 4
	maxFloatText  = 24 // "-1.2345678901234567e-308"
)

// appendFloat is the package's appendFloat, remembered.
func (w *valueWriter) appendFloat(b []byte, f float64) []byte {
	bits := math.Float64bits(f)
	e := &w.floats[(bits*0x9e3779b97f4a7c15)>>(64-floatMemoBits)]
	if e.n > 0 && e.bits == bits {
		return append(b, e.text[:e.n]...)
	}
	at := len(b)
	b = appendFloat(b, f)
	if n := len(b) - at; n <= maxFloatText {
		e.bits, e.n = bits, uint8(n)
		copy(e.text[:], b[at:])
	}
	return b
}

// appendStr appends a string attribute value: parsed when it is a JSON
// object or array, else a JSON string, cut at w.max with a marker.
func (w *valueWriter) appendStr(b []byte, s string) []byte {
	if w.max > 0 && len(s) > w.max {
		b = appendString(b, cutUTF8(s, w.max))
		b = appendTruncNote(b[:len(b)-1], len(s)) // reopen the string for the note
		return append(b, '"')
	}
	if len(s) >= 2 && (s[0] == '{' || s[0] == '[') { // invalid UTF-8 fails the parse
		if out, ok := appendCompactJSON(b, s); ok {
			return out
		}
	}
	return appendString(b, s)
}

// appendValue appends v as JSON: strings per appendStr, bytes as base64,
// arrays as lists, kvlists as objects (keys kept literally), empty as null.
func (w *valueWriter) appendValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return w.appendStr(b, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return w.appendFloat(b, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		cut := raw
		if w.max > 0 && len(raw) > w.max {
			cut = raw[:w.max]
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, cut)
		if len(cut) < len(raw) {
			b = appendTruncNote(b, len(raw))
		}
		return append(b, '"')
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		b = append(b, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = w.appendValue(b, s.At(i))
		}
		return append(b, ']')
	case pcommon.ValueTypeMap:
		return w.appendMap(b, v.Map())
	default: // empty
		return append(b, "null"...)
	}
}

// appendMap appends a kvlist as a JSON object in its own key order.
func (w *valueWriter) appendMap(b []byte, m pcommon.Map) []byte {
	b = append(b, '{')
	first := true
	m.Range(func(k string, v pcommon.Value) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		b = w.appendValue(b, v)
		return true
	})
	return append(b, '}')
}

// appendKey appends `"k":`, preceded by a comma unless the object is empty.
func appendKey(b []byte, k string) []byte {
	if c := b[len(b)-1]; c != '{' && c != '[' {
		b = append(b, ',')
	}
	b = appendString(b, k)
	return append(b, ':')
}

// appendQKey appends a key given as its JSON text with the colon (`"k":`,
// a constant that needs no escaping) to an open object: the summary's
// fixed keys skip appendKey's check of every byte.
func appendQKey(b []byte, qk string) []byte {
	if c := b[len(b)-1]; c != '{' && c != '[' {
		b = append(b, ',')
	}
	return append(b, qk...)
}

// appendKeyStr appends `"k":"v"` to an open object.
func appendKeyStr(b []byte, k, v string) []byte {
	return appendString(appendKey(b, k), v)
}

// appendKeyInt appends `"k":n` to an open object.
func appendKeyInt(b []byte, k string, n int64) []byte {
	return strconv.AppendInt(appendKey(b, k), n, 10)
}

// appendKeyFloat appends `"k":f` to an open object.
func appendKeyFloat(b []byte, k string, f float64) []byte {
	return appendFloat(appendKey(b, k), f)
}
