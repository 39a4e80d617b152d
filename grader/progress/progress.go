// Package progress keeps what a learner has done: which parts passed, when,
// with which files, and which hints were shown. It lives in one small JSON
// file that is written atomically and locked while it is updated, so a
// crash, a second grader or a damaged file never loses what was recorded.
package progress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
	"github.com/google/renameio/v2"
)

// Version is the format of the file this grader writes.
const Version = 1

// FileName is the progress file inside the state folder.
const FileName = "progress.json"

// Book is the whole progress file.
type Book struct {
	Version int             `json:"version"`
	Labs    map[string]*Lab `json:"labs,omitempty"` // by lab folder name
}

// Lab is the progress of one lab.
type Lab struct {
	Parts map[int]*Part `json:"parts,omitempty"`      // by part number
	Hints map[int]int   `json:"hints_seen,omitempty"` // part number → hints shown
}

// Status is the outcome of a part's last run.
type Status string

// Part outcomes.
const (
	Passed Status = "passed"
	Failed Status = "failed"
)

// Part is the record of one part.
type Part struct {
	Last    Status    `json:"last"`
	LastRun time.Time `json:"last_run"`
	// PassedAt and PassedHash describe the latest passing run: when, and a
	// hash of the learner's files then, so a later edit shows as a change.
	PassedAt   time.Time `json:"passed_at,omitzero"`
	PassedHash string    `json:"passed_hash,omitempty"`
}

// Lab returns the record for a lab, creating it.
func (b *Book) Lab(name string) *Lab {
	if b.Labs == nil {
		b.Labs = map[string]*Lab{}
	}
	l := b.Labs[name]
	if l == nil {
		l = &Lab{}
		b.Labs[name] = l
	}
	return l
}

// Peek returns the record for a lab without creating it; nil if none.
func (b *Book) Peek(name string) *Lab { return b.Labs[name] }

// Part returns the record of part n, or nil.
func (l *Lab) Part(n int) *Part {
	if l == nil {
		return nil
	}
	return l.Parts[n]
}

// Record stores the outcome of a run of part n.
func (l *Lab) Record(n int, passed bool, at time.Time, hash string) {
	if l.Parts == nil {
		l.Parts = map[int]*Part{}
	}
	p := l.Parts[n]
	if p == nil {
		p = &Part{}
		l.Parts[n] = p
	}
	p.LastRun = at
	if passed {
		p.Last, p.PassedAt, p.PassedHash = Passed, at, hash
	} else {
		p.Last = Failed
	}
}

// HintsSeen is how many hints of part n were shown.
func (l *Lab) HintsSeen(n int) int {
	if l == nil {
		return 0
	}
	return l.Hints[n]
}

// SawHint records that hint number k (1-based) of part n was shown.
func (l *Lab) SawHint(n, k int) {
	if l.Hints == nil {
		l.Hints = map[int]int{}
	}
	if k > l.Hints[n] {
		l.Hints[n] = k
	}
}

// Store reads and writes the progress file in a state folder.
type Store struct {
	dir string
	now func() time.Time
}

// NewStore returns a store for the progress file in dir. Nothing is touched
// until the first Load or Update.
func NewStore(dir string) *Store { return &Store{dir: dir, now: time.Now} }

// Path is the progress file.
func (s *Store) Path() string { return filepath.Join(s.dir, FileName) }

// LockTimeout bounds how long Update waits for another grader's update.
const LockTimeout = 10 * time.Second

// Load reads the progress file. A missing file is an empty book. A damaged
// file is moved aside (to progress.json.damaged-TIME) and reported in the
// notices; the grader goes on with an empty book rather than failing.
func (s *Store) Load() (*Book, []string, error) {
	b, problem, err := s.read(false)
	if newer, ok := err.(*newerError); ok {
		return b, []string{newer.Error()}, nil
	}
	if err != nil || problem == "" {
		return b, nil, err
	}
	// Moving the file aside changes it, so it happens under the lock, as
	// in Update: another grader may be replacing the damaged file right now.
	unlock, err := s.lock()
	if err != nil {
		return b, []string{fmt.Sprintf("progress file %s is damaged: %s; left in place (%v)", s.Path(), problem, err)}, nil
	}
	defer unlock()
	return s.loadLocked(false)
}

// Update applies change to the latest progress and writes it back atomically,
// holding a lock so that two graders cannot lose each other's records.
func (s *Store) Update(change func(*Book)) ([]string, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot record progress: %w", err)
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, fmt.Errorf("cannot record progress: %w", err)
	}
	defer unlock()

	b, notices, err := s.loadLocked(true)
	if err != nil {
		return notices, err
	}
	change(b)
	b.Version = Version
	if err := writeAtomic(s.Path(), b); err != nil {
		return notices, fmt.Errorf("cannot record progress: %w", err)
	}
	return notices, nil
}

// lock takes the lock that graders hold while they change the progress file.
func (s *Store) lock() (unlock func(), err error) {
	lock := flock.New(filepath.Join(s.dir, "progress.lock"))
	ctx, cancel := context.WithTimeout(context.Background(), LockTimeout)
	defer cancel()
	ok, err := lock.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil || !ok {
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("another grader holds %s: %w", lock.Path(), err)
	}
	return func() { lock.Unlock() }, nil
}

// read reads and decodes the progress file. problem says why a file that
// exists cannot be used; it is empty for a good or a missing file.
func (s *Store) read(forWrite bool) (b *Book, problem string, err error) {
	data, err := os.ReadFile(s.Path())
	if errors.Is(err, os.ErrNotExist) {
		return &Book{Version: Version}, "", nil
	}
	if err != nil {
		return &Book{Version: Version}, "", fmt.Errorf("read progress: %w", err)
	}
	b = &Book{}
	if err := json.Unmarshal(data, b); err != nil {
		return &Book{Version: Version}, "it is not valid JSON (" + err.Error() + ")", nil
	}
	if b.Version > Version {
		// Written by a newer grader: keep it as it is, never overwrite it.
		err := fmt.Errorf("%s has format %d, newer than this grader understands (%d); update the workbook", s.Path(), b.Version, Version)
		if forWrite {
			return nil, "", err
		}
		return &Book{Version: Version}, "", &newerError{err}
	}
	if b.Version < 1 {
		return &Book{Version: Version}, "it has no valid version", nil
	}
	return b, "", nil
}

// newerError is a progress file from a newer grader: Load reports it as a
// notice and goes on with an empty book.
type newerError struct{ error }

// loadLocked reads the progress file with the lock held, moving a damaged
// file aside.
func (s *Store) loadLocked(forWrite bool) (*Book, []string, error) {
	b, problem, err := s.read(forWrite)
	if newer, ok := err.(*newerError); ok {
		return b, []string{newer.Error()}, nil
	}
	if err != nil || problem == "" {
		return b, nil, err
	}
	notice := fmt.Sprintf("progress file %s was damaged: %s; ", s.Path(), problem)
	aside, err := s.setAside()
	if err != nil {
		notice += "it could not be moved aside (" + err.Error() + "), so progress starts empty"
	} else {
		notice += "moved it to " + aside + " and started a fresh one"
	}
	return b, []string{notice}, nil
}

// setAside renames the progress file to a name no earlier damaged copy has.
func (s *Store) setAside() (string, error) {
	base := s.Path() + ".damaged-" + s.now().UTC().Format("20060102T150405Z")
	aside := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s-%d", base, i)
	}
	return aside, os.Rename(s.Path(), aside)
}

func writeAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	// renameio writes a temporary file, syncs it and renames it over path: a
	// crash leaves the old file or the new one, never half of one.
	return renameio.WriteFile(path, append(data, '\n'), 0o644)
}
