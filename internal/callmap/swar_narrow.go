//go:build !amd64.v3

package callmap

// wideScan: without the x86-64-v3 level there is no wider scan than the
// eight-byte one (plainRun); build with GOAMD64=v3 for AVX2.
const wideScan = false

func wideRun(string, bool) int { return 0 }
