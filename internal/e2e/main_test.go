// Package e2e tests the callhouse distribution end to end: the real
// otelcol-callhouse binary, started as a process with the shipped
// config/callhouse.yaml (addresses from the environment, a small overlay per
// test), in front of a real ClickHouse (the embedded server, one per test
// binary); traces come from the OpenTelemetry Go SDK, from recorded
// fixtures of real producers, or raw OTLP.
package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// repoRoot is the repository, two levels above this package.
var repoRoot = func() string {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err) // Abs of a relative path fails only without a working directory
	}
	return dir
}()

// collectorBinary is what `make collector` builds.
var collectorBinary = filepath.Join(repoRoot, "build", "otelcol-callhouse", "otelcol-callhouse")

func TestMain(m *testing.M) {
	if err := ensureCollector(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(embeddedchtest.Run(m))
}

// ensureCollector builds the collector with `make collector` when it is
// missing or older than a source it is built from, so the tests never run
// an old binary; `make test` builds it first, so this is usually a no-op.
func ensureCollector() error {
	stale, err := collectorStale()
	if err != nil {
		return err
	}
	if !stale {
		return nil
	}
	fmt.Fprintln(os.Stderr, "e2e: building the collector (make collector)")
	cmd := exec.Command("make", "collector")
	cmd.Dir = repoRoot
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the e2e tests need %s and `make collector` failed: %w", collectorBinary, err)
	}
	// go build leaves an up-to-date binary untouched; mark it as checked
	// now so a change that does not reach the collector is not rebuilt for
	// again and again.
	now := time.Now()
	return os.Chtimes(collectorBinary, now, now)
}

// collectorStale reports whether the binary is missing or older than
// builder-config.yaml, go.mod, go.sum or a file of the module compiled or
// embedded into it (non-test Go, SQL and JSON files outside testdata).
func collectorStale() (bool, error) {
	bin, err := os.Stat(collectorBinary)
	if os.IsNotExist(err) {
		return true, nil
	} else if err != nil {
		return false, err
	}
	built := bin.ModTime()
	newer := func(path string) bool {
		fi, err := os.Stat(path)
		return err == nil && fi.ModTime().After(built)
	}
	for _, f := range []string{"builder-config.yaml", "go.mod", "go.sum"} {
		if newer(filepath.Join(repoRoot, f)) {
			return true, nil
		}
	}
	stale := false
	err = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil || stale {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "build", ".data", ".git", "node_modules", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		compiled := (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) ||
			strings.HasSuffix(name, ".sql") || strings.HasSuffix(name, ".json")
		if compiled && newer(path) {
			stale = true
		}
		return nil
	})
	return stale, err
}

// waitTimeout bounds every wait for calls to appear; the pipeline releases
// a trace within a second here, so this only matters when something is wrong.
const waitTimeout = time.Minute
