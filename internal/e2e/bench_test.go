package e2e

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestBenchStack is a short `make bench`: callhouse-loadgen starts its own
// embedded ClickHouse and collector, sends for two seconds, and reports
// every accepted span stored and every probe's delay.
func TestBenchStack(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "./cmd/callhouse-loadgen", "./cmd/clickhouse-embedded")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(bin, "callhouse-loadgen"), "-stack",
		"-launcher", filepath.Join(bin, "clickhouse-embedded"), "-collector", collectorBinary,
		"-config", filepath.Join(repoRoot, "config", "callhouse.yaml"),
		"-rate", "2000", "-duration", "2s", "-probes", "5", "-drain", "1m")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("callhouse-loadgen: %v", err)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`sent: +(\d+) spans accepted, 0 refused`),
		regexp.MustCompile(`stored: +(\d+) calls in weave.calls after .*spans/s end to end`),
		regexp.MustCompile(`delay: .* over \d+ probes \(0 unseen\): p50 `),
	} {
		if !want.Match(out) {
			t.Errorf("output does not match %s", want)
		}
	}
	sent := regexp.MustCompile(`sent: +(\d+) spans`).FindSubmatch(out)
	stored := regexp.MustCompile(`stored: +(\d+) calls`).FindSubmatch(out)
	if sent == nil || stored == nil || string(sent[1]) != string(stored[1]) {
		t.Errorf("sent %q, stored %q: want every accepted span stored", sent, stored)
	}
}
