package callmap

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// Eight-bytes-at-a-time scanning for the hot loops over string bodies.

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// load64 reads s[i:i+8] little-endian, as one load; callers check the
// bounds (unsafe.Slice spares the slice expression's checks).
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i)), 8))
}

// specialMask has the high bit set in each byte of x that is '"', '\\' or
// a control character (< 0x20), or, with hi = swarHi, any byte ≥ 0x80. A
// borrow can flag a byte above a flagged one, never below, so the lowest
// flag is exact: the first byte that ends a run of plain string content.
func specialMask(x, hi uint64) uint64 {
	q := x ^ (swarLo * '"')
	bs := x ^ (swarLo * '\\')
	return ((q-swarLo)&^q | (bs-swarLo)&^bs | (x-swarLo*0x20)&^x | x&hi) & swarHi
}

// jsonSpecial reports whether any byte of x is '"', '\\' or a control
// character (< 0x20).
func jsonSpecial(x uint64) bool { return specialMask(x, 0) != 0 }

// plainRun returns the index of the first byte at or after i that is '"',
// '\\' or a control character (or, with ascii set, any byte ≥ 0x80), or len(s).
// The position comes from the word's mask, so a short string (most keys
// and values inside a JSON text) costs one load, not a byte loop; long ones
// (message texts) go 32 bytes a step where the build allows (wideRun).
func plainRun(s string, i int, ascii bool) int {
	hi := uint64(0)
	if ascii {
		hi = swarHi
	}
	if wideScan && len(s)-i >= 32 {
		// most runs (keys and short values inside a JSON text) end in
		// their first eight bytes: one load decides them without the
		// vector loop's setup
		if m := specialMask(load64(s, i), hi); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
		i += wideRun(s[i:], ascii)
	}
	for ; i+8 <= len(s); i += 8 {
		if m := specialMask(load64(s, i), hi); m != 0 {
			return i + bits.TrailingZeros64(m)/8
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
