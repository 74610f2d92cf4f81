package callmap

import "unicode/utf8"

// appendCompactJSON appends the JSON text s without insignificant
// whitespace. It reports false (and appends nothing) when s is not one
// valid JSON value or nests deeper than maxJSONDepth. It is a hand-written
// scanner because encoding/json's is several times slower on the
// message-sized texts every LLM span carries. Invalid UTF-8 (which can
// only sit inside strings in a valid text) makes s invalid too.
//
// One pass validates and compacts: tokens are not copied one by one; the
// text between runs of whitespace is, so a text without insignificant
// whitespace (the common case) is appended in one copy. The scanner is one
// loop over a small state machine with the open containers kept as bits
// (no recursion, no calls per token): LLM messages are mostly short keys
// and values, so the cost per token is what counts.
func appendCompactJSON(b []byte, s string) ([]byte, bool) {
	out := b
	var open openStack
	i, mark := 0, 0 // s[mark:i] is valid and not yet copied to out
	st := wantValue
	for {
		// insignificant whitespace: copy what came before, skip it
		if i < len(s) && s[i] <= ' ' && isSpace(s[i]) {
			out = append(out, s[mark:i]...)
			for i++; i < len(s) && isSpace(s[i]); i++ {
			}
			mark = i
		}
		if i >= len(s) {
			if st == wantEnd {
				return append(out, s[mark:]...), true
			}
			return b, false
		}
		c := s[i]
		switch st {
		case wantValue, wantValueOrClose:
			switch {
			case c == '{' || c == '[':
				if !open.push(c == '{') {
					return b, false
				}
				i++
				st = wantValueOrClose
				if c == '{' {
					st = wantKeyOrClose
				}
				continue
			case c == ']' && st == wantValueOrClose:
				open.pop()
				i++
			case c == '"':
				if i = scanString(s, i); i < 0 {
					return b, false
				}
			case c == 't':
				if i = scanLiteral(s, i, "true"); i < 0 {
					return b, false
				}
			case c == 'f':
				if i = scanLiteral(s, i, "false"); i < 0 {
					return b, false
				}
			case c == 'n':
				if i = scanLiteral(s, i, "null"); i < 0 {
					return b, false
				}
			default:
				if i = scanNumber(s, i); i < 0 {
					return b, false
				}
			}
			st = open.after()
			// in a compact text a comma mostly follows: take it without
			// another round of the loop
			if st == wantCommaOrClose && i < len(s) && s[i] == ',' {
				i++
				st = open.afterComma()
			}
		case wantKeyOrClose, wantKey:
			if c == '}' && st == wantKeyOrClose {
				open.pop()
				i++
				st = open.after()
				continue
			}
			if c != '"' {
				return b, false
			}
			if i = scanString(s, i); i < 0 {
				return b, false
			}
			st = wantColon
			if i < len(s) && s[i] == ':' { // compact text: no round for the colon
				i++
				st = wantValue
			}
		case wantColon:
			if c != ':' {
				return b, false
			}
			i++
			st = wantValue
		case wantCommaOrClose:
			switch {
			case c == ',':
				i++
				st = open.afterComma()
			case c == '}' && open.inObject(), c == ']' && !open.inObject():
				open.pop()
				i++
				st = open.after()
			default:
				return b, false
			}
		default: // wantEnd: something after the value
			return b, false
		}
	}
}

// compactState is what appendCompactJSON expects next.
type compactState uint8

const (
	wantValue        compactState = iota // a value (after ':' or an array's ',', or at the top)
	wantValueOrClose                     // a value or ']' (just after '[')
	wantKey                              // a key (after an object's ',')
	wantKeyOrClose                       // a key or '}' (just after '{')
	wantColon                            // ':' after a key
	wantCommaOrClose                     // ',' or the container's close, after a value
	wantEnd                              // nothing: the top value is complete
)

// maxJSONDepth bounds nesting like encoding/json does.
const maxJSONDepth = 1000

// openStack holds the open containers, one bit each (set: object).
type openStack struct {
	bits  [(maxJSONDepth + 63) / 64]uint64
	depth uint // unsigned: the index arithmetic is shifts and masks
}

func (o *openStack) push(object bool) bool {
	if o.depth == maxJSONDepth {
		return false
	}
	w, bit := o.depth/64, uint64(1)<<(o.depth%64)
	if object {
		o.bits[w] |= bit
	} else {
		o.bits[w] &^= bit
	}
	o.depth++
	return true
}

func (o *openStack) pop() { o.depth-- }

func (o *openStack) inObject() bool {
	d := o.depth - 1
	return o.bits[d/64]&(uint64(1)<<(d%64)) != 0
}

// afterComma is the state after a comma in the open container.
func (o *openStack) afterComma() compactState {
	if o.inObject() {
		return wantKey
	}
	return wantValue
}

// after is the state once a value (or a closed container) is complete.
func (o *openStack) after() compactState {
	if o.depth == 0 {
		return wantEnd
	}
	return wantCommaOrClose
}

func isSpace(ch byte) bool { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' }

// scanString checks the string token starting at s[i] == '"' (its escapes,
// control characters and UTF-8) and returns the index after it, or -1.
func scanString(s string, i int) int {
	for i++; i < len(s); {
		i = plainRun(s, i, true)
		if i >= len(s) {
			break
		}
		ch := s[i]
		switch {
		case ch == '"':
			return i + 1
		case ch >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return -1
			}
			i += size
		case ch == '\\':
			if i+1 >= len(s) {
				return -1
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
	return -1
}

func isHex(ch byte) bool {
	return ('0' <= ch && ch <= '9') || ('a' <= ch && ch <= 'f') || ('A' <= ch && ch <= 'F')
}

// scanLiteral checks lit at s[i:] and returns the index after it, or -1.
func scanLiteral(s string, i int, lit string) int {
	if len(s)-i < len(lit) || s[i:i+len(lit)] != lit {
		return -1
	}
	return i + len(lit)
}

// scanNumber checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at s[i:]
// and returns the index after it, or -1.
func scanNumber(s string, i int) int {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}
