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
// whitespace (the common case) is appended in one copy.
func appendCompactJSON(b []byte, s string) ([]byte, bool) {
	c := compactor{s: s, b: b}
	if !c.value(0) {
		return b, false
	}
	c.space()
	if c.i != len(s) {
		return b, false
	}
	return append(c.b, s[c.mark:]...), true
}

// maxJSONDepth bounds nesting (and so recursion) like encoding/json does.
const maxJSONDepth = 1000

type compactor struct {
	s    string
	i    int
	b    []byte
	mark int // s[mark:i] is valid and not yet copied to b
}

func (c *compactor) space() {
	if c.i >= len(c.s) || !isSpace(c.s[c.i]) {
		return
	}
	c.b = append(c.b, c.s[c.mark:c.i]...)
	for c.i < len(c.s) && isSpace(c.s[c.i]) {
		c.i++
	}
	c.mark = c.i
}

func isSpace(ch byte) bool { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' }

func (c *compactor) value(depth int) bool {
	c.space()
	if c.i >= len(c.s) {
		return false
	}
	switch c.s[c.i] {
	case '{':
		return c.container(depth+1, '}', c.member)
	case '[':
		return c.container(depth+1, ']', c.value)
	case '"':
		return c.str()
	case 't':
		return c.literal("true")
	case 'f':
		return c.literal("false")
	case 'n':
		return c.literal("null")
	default:
		return c.number()
	}
}

// container copies an object or array: the opening byte at c.i, items
// separated by commas, then close.
func (c *compactor) container(depth int, close byte, item func(int) bool) bool {
	if depth > maxJSONDepth {
		return false
	}
	c.i++
	c.space()
	if c.i < len(c.s) && c.s[c.i] == close {
		c.i++
		return true
	}
	for {
		if !item(depth) {
			return false
		}
		c.space()
		if c.i >= len(c.s) {
			return false
		}
		switch c.s[c.i] {
		case ',':
			c.i++
		case close:
			c.i++
			return true
		default:
			return false
		}
	}
}

// member copies `"key": value`.
func (c *compactor) member(depth int) bool {
	c.space()
	if c.i >= len(c.s) || c.s[c.i] != '"' || !c.str() {
		return false
	}
	c.space()
	if c.i >= len(c.s) || c.s[c.i] != ':' {
		return false
	}
	c.i++
	return c.value(depth)
}

// str checks a string token: its escapes, control characters and UTF-8.
func (c *compactor) str() bool {
	s := c.s
	i := c.i + 1
	for i < len(s) {
		i = plainRun(s, i, true)
		if i >= len(s) {
			break
		}
		ch := s[i]
		if ch >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			i += size
			continue
		}
		if ch == '"' {
			c.i = i + 1
			return true
		}
		if ch < 0x20 {
			return false
		}
		if ch == '\\' {
			if i+1 >= len(s) {
				return false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					return false
				}
				i += 6
			default:
				return false
			}
			continue
		}
	}
	return false
}

func isHex(ch byte) bool {
	return ('0' <= ch && ch <= '9') || ('a' <= ch && ch <= 'f') || ('A' <= ch && ch <= 'F')
}

func (c *compactor) literal(lit string) bool {
	if len(c.s)-c.i < len(lit) || c.s[c.i:c.i+len(lit)] != lit {
		return false
	}
	c.i += len(lit)
	return true
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (c *compactor) number() bool {
	s, i := c.s, c.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return false
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
			return false
		}
		i = j
	}
	c.i = i
	return true
}

func digits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}
