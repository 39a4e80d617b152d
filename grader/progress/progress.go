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
	b, notice, err := s.load(false)
	return b, notice, err
}

// Update applies change to the latest progress and writes it back atomically,
// holding a lock so that two graders cannot lose each other's records.
func (s *Store) Update(change func(*Book)) ([]string, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot record progress: %w", err)
	}
	lock := flock.New(filepath.Join(s.dir, "progress.lock"))
	ctx, cancel := context.WithTimeout(context.Background(), LockTimeout)
	defer cancel()
	ok, err := lock.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil || !ok {
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("cannot record progress: another grader holds %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()

	b, notices, err := s.load(true)
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

func (s *Store) load(forWrite bool) (*Book, []string, error) {
	data, err := os.ReadFile(s.Path())
	if errors.Is(err, os.ErrNotExist) {
		return &Book{Version: Version}, nil, nil
	}
	if err != nil {
		return &Book{Version: Version}, nil, fmt.Errorf("read progress: %w", err)
	}
	var b Book
	problem := ""
	if err := json.Unmarshal(data, &b); err != nil {
		problem = "it is not valid JSON (" + err.Error() + ")"
	} else if b.Version > Version {
		// Written by a newer grader: keep it as it is, never overwrite it.
		err := fmt.Errorf("%s has format %d, newer than this grader understands (%d); update the workbook", s.Path(), b.Version, Version)
		if forWrite {
			return nil, nil, err
		}
		return &Book{Version: Version}, []string{err.Error()}, nil
	} else if b.Version < 1 {
		problem = "it has no valid version"
	}
	if problem == "" {
		return &b, nil, nil
	}
	aside := s.Path() + ".damaged-" + s.now().UTC().Format("20060102T150405Z")
	notice := fmt.Sprintf("progress file %s was damaged: %s; ", s.Path(), problem)
	if err := os.Rename(s.Path(), aside); err != nil {
		notice += "it could not be moved aside (" + err.Error() + "), so progress starts empty"
	} else {
		notice += "moved it to " + aside + " and started a fresh one"
	}
	return &Book{Version: Version}, []string{notice}, nil
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
