//go:build !(linux && amd64)

package embeddedch

import (
	"context"
	"fmt"
	"runtime"
)

// CheckPlatform reports whether this platform can run the embedded server:
// the packaged engine is a linux/amd64 library, so not here.
func CheckPlatform() error {
	return fmt.Errorf("the embedded ClickHouse runs on linux/amd64 only, not %s/%s; "+
		"use an external ClickHouse: set CALLHOUSE_TEST_CLICKHOUSE_ADDR (host:port of its native protocol) for tests, "+
		"and point the exporter's endpoint at it", runtime.GOOS, runtime.GOARCH)
}

// Serve fails with CheckPlatform's error.
func Serve(context.Context, string, Options, func()) error { return CheckPlatform() }
