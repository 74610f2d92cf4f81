package embeddedch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// tarball is a gzipped tar holding the given members.
func tarball(t *testing.T, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range members {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(body)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func sri(b []byte) string {
	sum := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestInstall(t *testing.T) {
	lib := []byte("\x7fELF not really a library")
	good := tarball(t, map[string][]byte{libMember: lib, "package/package.json": []byte("{}")})
	tampered := bytes.Clone(good)
	tampered[len(tampered)/2] ^= 0xff
	noLib := tarball(t, map[string][]byte{"package/package.json": []byte("{}")})
	notGzip := []byte("not a tarball")

	tests := []struct {
		name      string
		file      []byte
		integrity string
		wantErr   string // "" for success
	}{
		{"matching tarball", good, sri(good), ""},
		{"tampered tarball", tampered, sri(good), "does not match the pinned"},
		{"other integrity pinned", good, sri(noLib), "does not match the pinned"},
		{"integrity not sha512", good, "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=", "unsupported integrity"},
		{"no libchdb.so inside", noLib, sri(noLib), "has no package/libchdb.so"},
		{"not gzip", notGzip, sri(notGzip), "tarball"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tgz := filepath.Join(dir, "p.tgz")
			require.NoError(t, os.WriteFile(tgz, tt.file, 0o644))
			dest := filepath.Join(dir, "out", "libchdb.so")
			require.NoError(t, os.MkdirAll(filepath.Dir(dest), 0o755))
			err := install(tgz, tt.integrity, dest)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NoFileExists(t, dest)
				entries, _ := os.ReadDir(filepath.Dir(dest))
				require.Empty(t, entries, "no partial file left behind")
				return
			}
			require.NoError(t, err)
			got, err := os.ReadFile(dest)
			require.NoError(t, err)
			require.Equal(t, lib, got)
		})
	}
}

func TestCheckPinned(t *testing.T) {
	require.NoError(t, checkPinned(Integrity, Integrity))
	require.ErrorContains(t, checkPinned("sha512-other", Integrity), "refusing a changed package")
}

// Processes (here: goroutines, each with its own lock descriptor) that fetch
// at once download once and all get the whole library.
func TestFetchConcurrentDownloadsOnce(t *testing.T) {
	lib := bytes.Repeat([]byte("library "), 1<<16)
	tgzBytes := tarball(t, map[string][]byte{libMember: lib})
	var downloads atomic.Int32
	download := func(_ context.Context, dir string) (string, error) {
		downloads.Add(1)
		p := filepath.Join(dir, "p.tgz")
		return p, os.WriteFile(p, tgzBytes, 0o644)
	}
	dest := filepath.Join(t.TempDir(), "chdb", Version, "libchdb.so")
	var wg sync.WaitGroup
	paths := make([]string, 8)
	errs := make([]error, 8)
	for i := range paths {
		wg.Go(func() { paths[i], errs[i] = fetch(context.Background(), dest, sri(tgzBytes), download) })
	}
	wg.Wait()
	for i := range paths {
		require.NoError(t, errs[i])
		require.Equal(t, dest, paths[i])
	}
	require.Equal(t, int32(1), downloads.Load())
	got, err := os.ReadFile(dest)
	require.NoError(t, err)
	require.Equal(t, lib, got)
}

// The real package: fetched into the machine's cache (once; later runs
// reuse it), it is a linux/amd64 shared library of the expected size.
func TestFetchPinnedPackage(t *testing.T) {
	cacheDir, err := CacheDir()
	require.NoError(t, err)
	lib, err := Fetch(context.Background(), cacheDir, os.Stderr)
	require.NoError(t, err)
	require.Equal(t, LibPath(cacheDir), lib)
	st, err := os.Stat(lib)
	require.NoError(t, err)
	require.Equal(t, int64(566330096), st.Size(), "size listed by npm pack for this version")
	f, err := os.Open(lib)
	require.NoError(t, err)
	defer f.Close()
	head := make([]byte, 20)
	_, err = f.Read(head)
	require.NoError(t, err)
	require.Equal(t, []byte("\x7fELF\x02"), head[:5], "64-bit ELF")
	require.Equal(t, []byte{0x3e, 0x00}, head[18:20], "x86-64 machine")

	// Once there, it is reused without npm.
	t.Setenv("PATH", "")
	again, err := Fetch(context.Background(), cacheDir, nil)
	require.NoError(t, err)
	require.Equal(t, lib, again)
}

func TestCacheDir(t *testing.T) {
	t.Setenv(EnvCacheDir, "/some/where")
	dir, err := CacheDir()
	require.NoError(t, err)
	require.Equal(t, "/some/where", dir)

	t.Setenv(EnvCacheDir, "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	dir, err = CacheDir()
	require.NoError(t, err)
	require.Equal(t, "/xdg/callhouse", dir)
}

// Fetch through a stand-in npm on PATH: whatever npm hands over, only the
// pinned tarball is installed.
func TestFetchRefuses(t *testing.T) {
	bad := tarball(t, map[string][]byte{libMember: []byte("a different library")})
	tests := []struct {
		name    string
		npm     string // the stand-in's script; "" for no npm at all
		wantErr string
	}{
		{"no npm", "", "npm not found"},
		{"registry lists another tarball", `echo sha512-changed`, "refusing a changed package"},
		{"registry fails", `echo "npm error code E404" >&2; exit 1`, "E404"},
		{"tarball differs from the pin", `case "$1" in
view) echo "` + Integrity + `" ;;
pack) cp "$TARBALL" ./pkg.tgz && echo '[{"filename":"pkg.tgz"}]' ;;
esac`, "does not match the pinned"},
		{"pack output unreadable", `case "$1" in
view) echo "` + Integrity + `" ;;
pack) echo 'not json' ;;
esac`, "unexpected output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			path := bin // no npm (nor anything else) to be found
			if tt.npm != "" {
				require.NoError(t, os.WriteFile(filepath.Join(bin, "npm"), []byte("#!/bin/sh\n"+tt.npm+"\n"), 0o755))
				path += string(os.PathListSeparator) + os.Getenv("PATH") // the stand-in first
			}
			tgz := filepath.Join(t.TempDir(), "bad.tgz")
			require.NoError(t, os.WriteFile(tgz, bad, 0o644))
			t.Setenv("TARBALL", tgz)
			t.Setenv("PATH", path)
			cacheDir := t.TempDir()

			_, err := Fetch(context.Background(), cacheDir, nil)
			require.ErrorContains(t, err, tt.wantErr)
			left, _ := os.ReadDir(filepath.Dir(LibPath(cacheDir)))
			require.Empty(t, left, "neither a library nor a download left behind")
		})
	}
}
