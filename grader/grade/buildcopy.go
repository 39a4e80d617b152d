package grade

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/gofrs/flock"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/scratch"
)

// copySlots is how many graded builds of one lab may run at once (a watch
// and a test, say), each in a copy of its own.
const copySlots = 4

// buildCopy lays out files in a folder to build the lab from, and returns
// it with a function that gives it back. The folder is kept between runs,
// in the user's cache, so that the go command finds unchanged packages
// compiled: its build cache knows a package by its folder too.
func (g *Grader) buildCopy(lab *catalog.Lab, files map[string][]byte) (string, func(), error) {
	if cache, err := os.UserCacheDir(); err == nil {
		builds := filepath.Join(cache, "distlings", "build")
		sweepOnce.Do(func() { sweepCopies(builds) })
		sum := sha256.Sum256([]byte(g.Workbook.Root))
		home := filepath.Join(builds, hex.EncodeToString(sum[:6]))
		if err := os.MkdirAll(home, 0o755); err == nil {
			os.WriteFile(filepath.Join(home, workbookFile), []byte(g.Workbook.Root), 0o644)
		}
		base := filepath.Join(home, lab.Name)
		for slot := range copySlots {
			dir := filepath.Join(base, strconv.Itoa(slot))
			if os.MkdirAll(dir, 0o755) != nil {
				break
			}
			lock := flock.New(dir + ".lock")
			if ok, err := lock.TryLock(); err != nil || !ok {
				continue
			}
			if err := syncFiles(dir, files); err != nil {
				lock.Unlock()
				return "", nil, err
			}
			return dir, func() { lock.Unlock() }, nil
		}
	}
	// No cache folder, or every slot busy: a fresh folder, built cold.
	dir, err := scratch.MkdirTemp("build-")
	if err != nil {
		return "", nil, err
	}
	if err := syncFiles(dir, files); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// workbookFile, in a workbook's folder of build copies, names the
// workbook, so that the copies of one that is gone can be removed.
const workbookFile = "workbook"

var sweepOnce sync.Once

// sweepCopies removes the build copies of workbooks that no longer exist
// (a deleted clone, a test's temporary workbook).
func sweepCopies(builds string) {
	entries, err := os.ReadDir(builds)
	if err != nil {
		return
	}
	for _, e := range entries {
		dir := filepath.Join(builds, e.Name())
		root, err := os.ReadFile(filepath.Join(dir, workbookFile))
		if err != nil {
			continue
		}
		if _, err := os.Stat(string(root)); errors.Is(err, fs.ErrNotExist) {
			os.RemoveAll(dir)
		}
	}
}

// syncFiles makes dir hold exactly files, as regular files: it writes
// those that differ and removes everything else.
func syncFiles(dir string, files map[string][]byte) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if _, ok := files[filepath.ToSlash(rel)]; !ok {
			return os.Remove(path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
			// A link or a folder in the cache is not written through.
			if err := os.RemoveAll(path); err != nil {
				return err
			}
		} else if current, err := os.ReadFile(path); err == nil && bytes.Equal(current, data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
