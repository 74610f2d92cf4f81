//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package embeddedch

import (
	"fmt"
	"os"
	"syscall"
)

// LockFile takes an exclusive advisory lock on path (created if missing),
// blocking until it is free; the returned func releases it. Processes that
// fetch at once wait for the first instead of downloading in parallel.
func LockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
