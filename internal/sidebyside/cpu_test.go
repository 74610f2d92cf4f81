package sidebyside

import (
	"os"
	"testing"
)

// TestPeakRSS reads this process's high-water mark after it touched 64 MiB:
// the figure is in bytes and covers memory no longer held.
func TestPeakRSS(t *testing.T) {
	const size = 64 << 20
	b := make([]byte, size)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	got, err := peakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got < size {
		t.Errorf("peak RSS %d bytes after touching %d", got, size)
	}
	if _, err := peakRSS(-1); err == nil {
		t.Error("peakRSS of no process: no error")
	}
}
