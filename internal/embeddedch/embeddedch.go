// Package embeddedch fetches and serves an embedded ClickHouse for local runs
// and tests: the ClickHouse engine shipped as libchdb.so in an npm package,
// loaded with purego and run as clickhouse-local serving the native and HTTP
// protocols on loopback. It has no authentication, so it is for loopback use
// only; production deployments use a real ClickHouse.
package embeddedch

import (
	"errors"
	"os"
	"path/filepath"
)

// The npm package that holds libchdb.so, pinned to one version and one
// tarball: a package whose integrity differs from Integrity is refused.
const (
	Package   = "@chdb/lib-linux-x64-gnu"
	Version   = "26.7.3-stable.1"
	Integrity = "sha512-XP97mMqnc5tZpKQywR8N7cLTsHNiTmHr30pC5mzo3jWmukjKn2IBa60c2B/gWUNcuFjOMjWoorQICCqBVj5wpw=="
)

// EnvCacheDir overrides the cache directory that holds the fetched library
// and the built launcher.
const EnvCacheDir = "CALLHOUSE_CACHE_DIR"

// CacheDir is where fetched and built artefacts are kept, outside the
// repository so that every clone on a machine shares one copy:
// $CALLHOUSE_CACHE_DIR, else $XDG_CACHE_HOME/callhouse, else ~/.cache/callhouse.
func CacheDir() (string, error) {
	if dir := os.Getenv(EnvCacheDir); dir != "" {
		return filepath.Abs(dir)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", errors.Join(errors.New("no cache directory: set "+EnvCacheDir), err)
	}
	return filepath.Join(base, "callhouse"), nil
}

// LibPath is where Fetch puts libchdb.so inside cacheDir.
func LibPath(cacheDir string) string {
	return filepath.Join(cacheDir, "chdb", Version, "libchdb.so")
}
