package callmap

import "unsafe"

// Eight-bytes-at-a-time scanning for the hot loops over string bodies.

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// load64 reads the eight bytes s[i:i+8] as one word; callers check the
// bounds. The byte order does not matter: the tests below ask whether any
// byte of the word qualifies, never which one.
func load64(s string, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}

// jsonSpecial reports whether any byte of x is '"', '\\' or a control
// character (< 0x20): the bytes that end a run of plain string content.
func jsonSpecial(x uint64) bool {
	q := x ^ (swarLo * '"')
	bs := x ^ (swarLo * '\\')
	return ((q-swarLo)&^q|(bs-swarLo)&^bs|(x-swarLo*0x20)&^x)&swarHi != 0
}

// plainRun returns the index of the first byte at or after i that is '"',
// '\\' or a control character (or, with ascii set, any byte ≥ 0x80), or len(s).
func plainRun(s string, i int, ascii bool) int {
	hi := uint64(0)
	if ascii {
		hi = swarHi
	}
	// Sixteen bytes a round: string bodies in LLM messages run for
	// hundreds of bytes between quotes, so the loop's own cost counts.
	for ; i+16 <= len(s); i += 16 {
		x, y := load64(s, i), load64(s, i+8)
		if jsonSpecial(x) || jsonSpecial(y) || (x|y)&hi != 0 {
			break
		}
	}
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		if jsonSpecial(x) || (ascii && x&swarHi != 0) {
			break
		}
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || (ascii && c >= 0x80) {
			return i
		}
	}
	return i
}

// plainASCII reports whether s holds only printable ASCII other than '"'
// and '\\' (a JSON string body as it is): eight bytes per load, the last
// load overlapping the one before it instead of a byte loop for the tail.
func plainASCII(s string) bool {
	n := len(s)
	if n < 8 {
		for i := 0; i < n; i++ {
			if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return false
			}
		}
		return true
	}
	for i := 0; i+8 < n; i += 8 {
		if x := load64(s, i); jsonSpecial(x) || x&swarHi != 0 {
			return false
		}
	}
	x := load64(s, n-8)
	return !jsonSpecial(x) && x&swarHi == 0
}
