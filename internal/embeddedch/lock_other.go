//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package embeddedch

// LockFile is a no-op where flock is unavailable: concurrent fetches then
// download twice, and the atomic rename still leaves one whole file.
func LockFile(string) (func(), error) { return func() {}, nil }
