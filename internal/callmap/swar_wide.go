//go:build amd64.v3

package callmap

// wideScan: this build targets x86-64-v3, whose AVX2 scans 32 bytes per
// step (wideRun, in swar_wide_amd64.s).
const wideScan = true

// wideRun returns the index of the first byte of s that is '"', '\\' or a
// control character (or, with ascii set, any byte ≥ 0x80), looking 32 bytes
// at a time; when no 32-byte block of s holds one, it returns where the
// shorter rest begins, for the caller's eight-byte loop to finish. It never
// returns an index past such a byte.
//
//go:noescape
func wideRun(s string, ascii bool) int
