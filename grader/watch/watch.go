// Package watch notices when a lab's files are saved, so the grader can run
// the lab again without being asked. It watches one folder (a lab is one
// folder) and reports bursts of changes as single batches of file names.
package watch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// A Watcher reports batches of changed files in one folder.
type Watcher struct {
	fw       *fsnotify.Watcher
	dir      string
	match    func(string) bool
	wait     time.Duration
	changes  chan []string
	errs     chan error
	done     chan struct{} // closed by Close: the loop should stop
	exited   chan struct{} // closed by the loop once it has closed changes
	once     sync.Once
	closeErr error
}

// New watches dir (not recursively; a lab is one folder) for changes to
// files whose names match (e.g. *.go and lab.toml), coalescing bursts: after
// the first change it waits until debounce has passed with no further
// change, then sends one batch. A nil match means LabFiles.
func New(dir string, debounce time.Duration, match func(name string) bool) (*Watcher, error) {
	if debounce < 0 {
		return nil, fmt.Errorf("watch: negative debounce %v", debounce)
	}
	if match == nil {
		match = LabFiles
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	// The folder, not its files: an editor that saves by renaming a new
	// file over the old one replaces the file a per-file watch was on.
	if err := fw.Add(dir); err != nil {
		fw.Close()
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	w := newWatcher(dir, debounce, match)
	w.fw = fw
	go w.loop(fw.Events, fw.Errors)
	return w, nil
}

func newWatcher(dir string, debounce time.Duration, match func(string) bool) *Watcher {
	return &Watcher{
		dir: dir, match: match, wait: debounce,
		changes: make(chan []string),
		// Buffered so an error can wait for a reader without holding up
		// the changes; see report.
		errs:   make(chan error, 8),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
}

// Changes delivers the sorted, de-duplicated base names of the files changed
// in one burst. Changes that come while the previous batch has not been
// received yet are added to the next batch, so a reader busy with a batch
// finds at most one more waiting. Close closes it.
func (w *Watcher) Changes() <-chan []string { return w.changes }

// Errors delivers problems the watcher met, such as events lost to a full
// kernel queue; watching goes on. Close closes it.
func (w *Watcher) Errors() <-chan error { return w.errs }

// Close stops watching and closes Changes and Errors. Calling it again does
// nothing and returns the first call's result.
func (w *Watcher) Close() error {
	w.once.Do(func() {
		close(w.done)
		w.closeErr = w.fw.Close()
		<-w.exited
	})
	return w.closeErr
}

// LabFiles matches the files whose saving should re-run a lab: Go files and
// the manifest, but not the temporary and backup files editors leave next to
// them (.x.go.swp, x.go~, #x.go#, .#x.go).
func LabFiles(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") ||
		strings.HasSuffix(name, "~") || strings.HasSuffix(name, ".swp") {
		return false
	}
	return strings.HasSuffix(name, ".go") || name == "lab.toml"
}

// loop is the only goroutine that touches the pending state. It keeps
// reading fsnotify while a batch waits for its reader, so the kernel queue
// never fills because the grader is busy running tests. It takes fsnotify's
// channels as arguments so that tests can feed it events.
func (w *Watcher) loop(events <-chan fsnotify.Event, errs <-chan error) {
	defer close(w.exited)
	defer close(w.errs)
	defer close(w.changes)

	pending := map[string]bool{} // changed in the burst still going on
	var ready []string           // a finished batch not yet received
	timer := time.NewTimer(w.wait)
	timer.Stop()
	defer timer.Stop()
	var quiet <-chan time.Time // the timer's channel while a burst is going on
	for {
		// Offer a batch only between bursts: a reader that takes it in the
		// middle of a save would test half-written files.
		var out chan []string
		if len(ready) > 0 && quiet == nil {
			out = w.changes
		}
		select {
		case <-w.done:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			// Chmod is left out: indexers and virus scanners touch
			// attributes without changing anything.
			if !ev.Has(fsnotify.Create | fsnotify.Write | fsnotify.Rename | fsnotify.Remove) {
				continue
			}
			name := filepath.Base(ev.Name)
			if !w.match(name) {
				continue
			}
			pending[name] = true
			timer.Reset(w.wait)
			quiet = timer.C
		case err, ok := <-errs:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Some events were lost: which files changed is unknown,
				// so count every matching one as changed.
				w.addAll(pending)
				timer.Reset(w.wait)
				quiet = timer.C
			}
			w.report(err)
		case <-quiet:
			quiet = nil
			ready = merge(ready, pending)
			clear(pending)
		case out <- ready:
			ready = nil
		}
	}
}

// report passes an error on without blocking: if nobody reads Errors and the
// buffer is full, the error is dropped rather than stopping the changes.
func (w *Watcher) report(err error) {
	select {
	case w.errs <- fmt.Errorf("watch %s: %w", w.dir, err):
	default:
	}
}

func (w *Watcher) addAll(set map[string]bool) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		w.report(err)
		return
	}
	for _, e := range entries {
		if !e.IsDir() && w.match(e.Name()) {
			set[e.Name()] = true
		}
	}
}

// merge adds the names in set to the sorted list batch, without duplicates.
func merge(batch []string, set map[string]bool) []string {
	for name := range set {
		batch = append(batch, name)
	}
	slices.Sort(batch)
	return slices.Compact(batch)
}
