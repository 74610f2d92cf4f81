package callmap

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAppendCompactJSON checks the one-pass compactor against
// encoding/json: the same verdict on validity (and invalid UTF-8 rejected)
// and the same compact text.
func TestAppendCompactJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, ` { } `, `[1,2,3]`, "[ 1 ,\n\t2 ,\r 3 ]", `{"a": {"b": [true, false, null]}, "c" : -1.5e+3}`,
		`{"s": "with \"quotes\", spaces and \\u00e9 \u00e9", "t":"x"}`, `  "string"  `, `0`, `-0.0e-0`,
		`[{"role": "user", "parts": [{"type": "text", "content": "hi there"}]}]`,
		// invalid
		``, ` `, `{`, `{"a" 1}`, `{"a":1,}`, `[1 2]`, `[01]`, `[1.]`, `[.5]`, `{"a":tru}`, `"\x"`, "\"tab\there\"", `[1]]`, `{} {}`,
		`{"a":"\u12G4"}`, "[\"\xff\"]", "{\"\xed\xa0\x80\":1}", "[\"caf\xc3\"]", "[\"caf\xc3\xa9 \xef\xbf\xbd\"]", "[1]\xff", `[` + strings.Repeat(`[`, 1001) + strings.Repeat(`]`, 1002),
		strings.Repeat(`[`, 1000) + strings.Repeat(`]`, 1000), strings.Repeat(`{"a":`, 1000) + `1` + strings.Repeat(`}`, 1000),
		`{"a":1}}`, `[1,]`, `{,}`, `{"a"}`, `{"a":}`, `[,1]`, `{"a":1 "b":2}`, `["a" : 1]`, `{1:2}`, "[1,\n2]\n", `"\u00e9"`, `[-]`, `[1e]`, `[1e+]`, `[-01]`, `[tru]`, `[nul]`, `[fals]`,
	} {
		checkCompact(t, in)
	}
}

// FuzzCompactJSON holds the compactor to encoding/json on any text.
func FuzzCompactJSON(f *testing.F) {
	for _, in := range []string{`{"a": [1, "x", {"b": null}]}`, `[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]`, `{"a":1,}`} {
		f.Add(in)
	}
	f.Fuzz(checkCompact)
}

// checkCompact: the same verdict on validity as encoding/json (invalid
// UTF-8 rejected too) and the same compact text.
func checkCompact(t *testing.T, in string) {
	var want bytes.Buffer
	wantOK := json.Valid([]byte(in)) && json.Compact(&want, []byte(in)) == nil
	if jsonDepth(in) > maxJSONDepth || !utf8.ValidString(in) {
		wantOK = false // deeper than we parse; invalid UTF-8 is not JSON to us
	}
	got, ok := appendCompactJSON([]byte("prefix:"), in)
	if ok != wantOK {
		t.Fatalf("%q: ok %v, want %v", in, ok, wantOK)
	}
	if !ok {
		if string(got) != "prefix:" {
			t.Fatalf("%q: invalid text appended %q", in, got)
		}
		return
	}
	if string(got) != "prefix:"+want.String() {
		t.Fatalf("%q: got %q, want %q", in, got, "prefix:"+want.String())
	}
}

// jsonDepth is the deepest nesting of a valid text (brackets inside
// strings not counted).
func jsonDepth(in string) int {
	d, deepest, inStr := 0, 0, false
	for i := 0; i < len(in); i++ {
		switch c := in[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			d++
			deepest = max(deepest, d)
		case !inStr && (c == '}' || c == ']'):
			d--
		}
	}
	return deepest
}

// TestPlainASCII checks the word-at-a-time test against a byte loop, for
// every length up to 40 and a special byte at every position.
func TestPlainASCII(t *testing.T) {
	for n := 0; n <= 40; n++ {
		base := strings.Repeat("a", n)
		if !plainASCII(base) {
			t.Fatalf("%q: not plain", base)
		}
		for i := 0; i < n; i++ {
			for _, c := range []byte{'"', '\\', 0, 0x1f, 0x7f, 0x80, 0xff} {
				b := []byte(base)
				b[i] = c
				want := c == 0x7f // DEL is printable enough for JSON
				if got := plainASCII(string(b)); got != want {
					t.Fatalf("len %d, %#x at %d: got %v", n, c, i, got)
				}
			}
		}
	}
}

// plainRunSlow is plainRun's definition, one byte at a time.
func plainRunSlow(s string, i int, ascii bool) int {
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || (ascii && c >= 0x80) {
			return i
		}
	}
	return i
}

// TestPlainRun checks the word-at-a-time position (and, built for
// x86-64-v3, the 32-byte one) against a byte loop: for every length up to
// 100 (three 32-byte blocks and a tail), start offset, and one or two
// special bytes (a second one above the first tests that borrows never
// move the answer).
func TestPlainRun(t *testing.T) {
	slow := plainRunSlow
	specials := []byte{'"', '\\', 0, 0x1f, 0x20, 0x7f, 0x80, 0xa0, 0xff, '!', 'a'}
	for n := 0; n <= 100; n++ {
		for at := 0; at < n; at++ {
			for _, c := range specials {
				for _, c2 := range []byte{'a', 0, '"', 0x80} {
					b := []byte(strings.Repeat("a", n))
					b[at] = c
					if at+1 < n {
						b[at+1] = c2
					}
					for _, start := range []int{0, 1, 2, 3, 31, 32, 33} {
						if start > n {
							continue
						}
						for _, ascii := range []bool{false, true} {
							if got, want := plainRun(string(b), start, ascii), slow(string(b), start, ascii); got != want {
								t.Fatalf("%q from %d ascii=%v: got %d, want %d", b, start, ascii, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// FuzzPlainRun holds the scan (eight and, built for x86-64-v3, 32 bytes a
// step) to its byte-at-a-time definition on any bytes from any start.
func FuzzPlainRun(f *testing.F) {
	f.Add(strings.Repeat("a", 70)+`"`, 0)
	f.Add(strings.Repeat("é", 40)+"\x01", 3)
	f.Add(strings.Repeat("plain text ", 9)+"\\n", 33)
	f.Fuzz(func(t *testing.T, s string, start int) {
		if start < 0 || start > len(s) {
			return
		}
		for _, ascii := range []bool{false, true} {
			if got, want := plainRun(s, start, ascii), plainRunSlow(s, start, ascii); got != want {
				t.Fatalf("%q from %d ascii=%v: got %d, want %d", s, start, ascii, got, want)
			}
		}
	})
}
