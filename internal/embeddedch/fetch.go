package embeddedch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// libMember is the tarball entry Fetch unpacks.
const libMember = "package/libchdb.so"

// Fetch makes sure libchdb.so of the pinned package is in cacheDir and returns
// its path. The first call on a machine downloads the package with npm
// (about 180 MB), checks it against the pinned Integrity and unpacks the
// library; later calls return at once. Several processes may call it at the
// same time: a file lock makes one download while the others wait, and the
// library appears under its final name only when whole. Progress goes to log
// (nil for none). On platforms that cannot run it, Fetch fails at once.
func Fetch(ctx context.Context, cacheDir string, log io.Writer) (string, error) {
	if err := CheckPlatform(); err != nil {
		return "", err
	}
	if log == nil {
		log = io.Discard
	}
	return fetch(ctx, LibPath(cacheDir), Integrity, func(ctx context.Context, dir string) (string, error) {
		fmt.Fprintf(log, "embeddedch: fetching %s@%s (about 180 MB) for %s\n", Package, Version, filepath.Dir(dir))
		return npmPack(ctx, dir)
	})
}

// fetch installs lib from the tarball that download puts in a temporary
// directory, unless lib is already there; one process at a time downloads.
func fetch(ctx context.Context, lib, integrity string, download func(ctx context.Context, dir string) (string, error)) (string, error) {
	if installed(lib) {
		return lib, nil
	}
	dir := filepath.Dir(lib)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := LockFile(dir + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if installed(lib) { // another process fetched it while we waited
		return lib, nil
	}
	tmp, err := os.MkdirTemp(dir, "fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	tgz, err := download(ctx, tmp)
	if err != nil {
		return "", err
	}
	if err := install(tgz, integrity, lib); err != nil {
		return "", fmt.Errorf("%s@%s: %w", Package, Version, err)
	}
	return lib, nil
}

// npmPack downloads the pinned package's tarball into dir with npm, after
// checking that the registry still lists the pinned integrity for it.
func npmPack(ctx context.Context, dir string) (string, error) {
	spec := Package + "@" + Version
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("fetch %s: npm not found (install Node.js with npm, or use an external ClickHouse)", spec)
	}
	reported, err := npm(ctx, "", "view", spec, "dist.integrity")
	if err != nil {
		return "", err
	}
	if err := checkPinned(strings.TrimSpace(string(reported)), Integrity); err != nil {
		return "", fmt.Errorf("registry metadata of %s: %w", spec, err)
	}
	out, err := npm(ctx, dir, "pack", spec, "--json")
	if err != nil {
		return "", err
	}
	var packed []struct{ Filename string }
	if err := json.Unmarshal(out, &packed); err != nil || len(packed) != 1 || packed[0].Filename == "" {
		return "", fmt.Errorf("npm pack %s: unexpected output %q", spec, out)
	}
	return filepath.Join(dir, filepath.Base(packed[0].Filename)), nil
}

func installed(lib string) bool {
	st, err := os.Stat(lib)
	return err == nil && st.Mode().IsRegular() && st.Size() > 0
}

// npm runs an npm command in dir and returns its standard output; its
// standard error (warnings) is only shown when the command fails.
func npm(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("npm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// checkPinned refuses an integrity that differs from the pinned one.
func checkPinned(got, pinned string) error {
	if got != pinned {
		return fmt.Errorf("integrity %q differs from the pinned %q; refusing a changed package", got, pinned)
	}
	return nil
}

// install checks the tarball at tgz against integrity (SRI form, sha512) and
// unpacks its libchdb.so to dest, atomically: dest exists only when whole.
func install(tgz, integrity, dest string) error {
	if err := verify(tgz, integrity); err != nil {
		return err
	}
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("tarball has no %s", libMember)
		}
		if err != nil {
			return fmt.Errorf("tarball: %w", err)
		}
		if h.Name == libMember && h.Typeflag == tar.TypeReg {
			return writeAtomic(dest, tr)
		}
	}
}

// verify compares the file's digest with an SRI integrity string.
func verify(path, integrity string) error {
	want, ok := strings.CutPrefix(integrity, "sha512-")
	if !ok {
		return fmt.Errorf("unsupported integrity %q: want sha512-<base64>", integrity)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("tarball integrity sha512-%s does not match the pinned %s; refusing it", got, integrity)
	}
	return nil
}

// writeAtomic writes r to a temporary file next to dest and renames it.
func writeAtomic(dest string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(dest), filepath.Base(dest)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	_, err = io.Copy(tmp, r)
	err = errors.Join(err, tmp.Chmod(0o755), tmp.Sync(), tmp.Close())
	if err != nil {
		return fmt.Errorf("write %s: %w", dest, err)
	}
	return os.Rename(tmp.Name(), dest)
}
