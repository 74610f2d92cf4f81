package embeddedch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// CheckPlatform reports whether this platform can run the embedded server:
// nil here.
func CheckPlatform() error { return nil }

// Serve loads libchdb.so from lib and serves o until ctx is cancelled, then
// stops the server and returns nil. onReady (may be nil) is called once both
// protocols answer. A server that fails to start or stops by itself is an
// error; its details are on the process's standard error, where ClickHouse
// writes them. The library stays loaded: call Serve once per process.
func Serve(ctx context.Context, lib string, o Options, onReady func()) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if err := checkPortsFree(o); err != nil {
		return err
	}
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return fmt.Errorf("load %s: %w", lib, err)
	}
	var (
		queryCmdline func(argc int32, argv **byte) uintptr
		resultError  func(result uintptr) *byte
	)
	purego.RegisterLibFunc(&queryCmdline, h, "chdb_query_cmdline")
	purego.RegisterLibFunc(&resultError, h, "chdb_result_error")

	queryID := newQueryID()
	args := o.args(queryID)
	argv := make([]*byte, len(args)+1) // NULL-terminated, as main's argv
	for i, a := range args {
		argv[i] = cString(a)
	}
	served := make(chan string, 1)
	go func() {
		// clickhouse-local keeps per-thread state: one OS thread, start to end.
		runtime.LockOSThread()
		r := queryCmdline(int32(len(args)), &argv[0])
		runtime.KeepAlive(argv)
		msg := ""
		if r != 0 {
			msg = goString(resultError(r))
		}
		served <- msg
	}()

	readyCtx, cancelReady := context.WithCancel(ctx)
	defer cancelReady()
	go waitReady(readyCtx, o, queryID, onReady)

	select {
	case msg := <-served:
		return stoppedByItself(msg)
	case <-ctx.Done():
	}
	cancelReady()
	return stop(o, queryID, served)
}

// waitReady polls until the server answers, then calls onReady.
func waitReady(ctx context.Context, o Options, queryID string, onReady func()) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		probeCtx, cancel := context.WithTimeout(ctx, time.Second)
		ok := answering(probeCtx, o, queryID)
		cancel()
		if ok {
			if onReady != nil {
				onReady()
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stop kills the serving query until clickhouse-local returns; a stop asked
// for while it is still starting is retried until the query runs.
func stop(o Options, queryID string, served <-chan string) error {
	deadline := time.After(StopTimeout)
	retry := time.NewTicker(200 * time.Millisecond)
	defer retry.Stop()
	for {
		killCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = stopQuery(killCtx, o, queryID) // the query may not run yet, or be ending
		cancel()
		select {
		case <-served:
			return nil
		case <-deadline:
			return fmt.Errorf("the server did not stop within %s", StopTimeout)
		case <-retry.C:
		}
	}
}

func stoppedByItself(msg string) error {
	if msg == "" {
		msg = "see the ClickHouse error above"
	}
	return errors.New("the server stopped by itself: " + msg)
}

func cString(s string) *byte {
	b := append([]byte(s), 0)
	return &b[0]
}

func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
