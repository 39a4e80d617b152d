// Package scratch gives every temporary folder of a grader process one
// home, $TMPDIR/distlings-*, which the process holds a lock on. The home
// goes when the process ends; one left by a grader that was killed (its
// lock free) is swept away by the next grader that starts.
package scratch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

const (
	prefix   = "distlings-"
	lockName = ".lock"
	// legacyAge is how old an unlocked folder must be before it is swept:
	// one without a lock file may belong to a grader still starting.
	legacyAge = time.Hour
)

var (
	mu   sync.Mutex
	home string
	lock *flock.Flock
)

// MkdirTemp makes a new folder in the process's home, as os.MkdirTemp.
func MkdirTemp(pattern string) (string, error) {
	h, err := Home()
	if err != nil {
		return "", err
	}
	return os.MkdirTemp(h, pattern)
}

// Home returns the process's home for temporary folders, made and locked
// on first use.
func Home() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if home != "" {
		return home, nil
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	l := flock.New(filepath.Join(dir, lockName))
	if err := l.Lock(); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	home, lock = dir, l
	return home, nil
}

// Cleanup removes the process's home and everything in it.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if home == "" {
		return
	}
	os.RemoveAll(home)
	lock.Unlock()
	home, lock = "", nil
}

// Sweep removes the homes of grader processes that are gone, and returns
// how many it removed.
func Sweep() (int, error) {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		dir := filepath.Join(os.TempDir(), e.Name())
		if dir == home || !stale(dir) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

// stale reports whether no live process owns dir.
func stale(dir string) bool {
	path := filepath.Join(dir, lockName)
	if _, err := os.Stat(path); err != nil {
		fi, err := os.Stat(dir)
		return err == nil && time.Since(fi.ModTime()) > legacyAge
	}
	l := flock.New(path)
	ok, err := l.TryLock()
	if err != nil || !ok {
		return false
	}
	l.Unlock()
	return true
}
