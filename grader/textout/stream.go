package textout

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/run"
)

// Quiet spells, in a pipe, after which a stream says what it is still doing:
// a CI log or `| tee` that shows nothing for minutes looks hung.
const (
	firstBuildNote = 3 * time.Second
	quietInPipe    = 15 * time.Second
)

// Stream prints a lab's run as it happens: the header at once, the build's
// progress, each part the moment it finishes, then the total. On a terminal
// a status line shows what runs now; in a pipe a line every quietInPipe.
type Stream struct {
	p       *Printer
	lab     *catalog.Lab
	verbose bool
	live    bool // a terminal: redraw a status line

	mu        sync.Mutex
	start     time.Time
	lastOut   time.Time
	building  bool
	buildFrom time.Time
	progress  map[bool]run.BuildProgress
	noted     bool // the first-build note was printed
	noticed   map[string]bool
	running   map[int]time.Time
	status    bool // a status line is on screen
	stop      chan struct{}
	stopped   sync.WaitGroup
	closeOnce sync.Once
	now       func() time.Time
}

// Stream starts printing a run of lab. live is for a terminal, where a
// status line is redrawn in place; elsewhere, and on a dumb terminal, which
// would print the redraw codes as text, every line stays.
func (p *Printer) Stream(lab *catalog.Lab, verbose, live bool) *Stream {
	s := &Stream{p: p, lab: lab, verbose: verbose, live: live && !p.dumb, now: time.Now,
		progress: map[bool]run.BuildProgress{}, noticed: map[string]bool{}, running: map[int]time.Time{}, stop: make(chan struct{})}
	s.start = s.now()
	s.lastOut = s.start
	p.printf("%s  %s\n", p.st.title.Render(fmt.Sprintf("lab %02d %s", lab.Number, lab.Slug)), lab.Title)
	s.stopped.Add(1)
	go s.tick()
	return s
}

func (s *Stream) tick() {
	defer s.stopped.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.quiet()
			s.mu.Unlock()
		}
	}
}

// Event takes one event of the run.
func (s *Stream) Event(e run.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e.Kind {
	case run.Notice:
		s.noticed[e.Text] = true
		s.line("%s %s\n", s.p.st.warn.Render("note:"), e.Text)
	case run.BuildStarted:
		s.building, s.buildFrom = true, s.now()
		s.line("%s\n", s.p.st.dim.Render(fmt.Sprintf("building lab %02d…", s.lab.Number)))
	case run.BuildProgressed:
		s.progress[e.Progress.Race] = *e.Progress
	case run.BuildDone:
		s.building = false
		if e.Build.OK {
			s.line("%s\n\n", s.p.st.dim.Render(fmt.Sprintf("built in %s", e.Build.Elapsed.Round(100*time.Millisecond))))
		}
	case run.PartStarted:
		s.running[e.Part.Number] = s.now()
	case run.PartDone:
		delete(s.running, e.Part.Number)
		if e.Done.Status != run.BuildFailed {
			s.clearStatus()
			s.p.part(e.Done, s.verbose)
			s.lastOut = s.now()
		}
	}
	s.quiet()
}

// quiet says what is going on when nothing else has been said for a while:
// on a terminal, a status line redrawn in place; in a pipe, a line.
func (s *Stream) quiet() {
	now := s.now()
	if s.building && !s.noted && now.Sub(s.buildFrom) >= firstBuildNote {
		s.noted = true
		s.line("%s\n", s.p.st.dim.Render("  "+run.FirstBuildNote))
	}
	what := s.doing(now)
	if what == "" {
		return
	}
	if s.live {
		s.p.printf("\r\x1b[K%s", s.p.st.dim.Render(cut(what, 78)))
		s.status = true
		return
	}
	if now.Sub(s.lastOut) >= quietInPipe {
		s.line("%s\n", s.p.st.dim.Render(what))
	}
}

// doing describes the build or the parts running now.
func (s *Stream) doing(now time.Time) string {
	if s.building {
		what := "  building"
		if progress := run.Describe(s.progress); progress != "" {
			what += ": " + progress
		}
		return fmt.Sprintf("%s (%s)", what, now.Sub(s.buildFrom).Round(time.Second))
	}
	if len(s.running) == 0 {
		return ""
	}
	var nums []int
	first := now
	for n, since := range s.running {
		nums = append(nums, n)
		if since.Before(first) {
			first = since
		}
	}
	slices.Sort(nums)
	names := make([]string, len(nums))
	for i, n := range nums {
		names[i] = fmt.Sprint(n)
	}
	label := "part"
	if len(nums) > 1 {
		label = "parts"
	}
	return fmt.Sprintf("  running %s %s (%s)", label, strings.Join(names, ", "), now.Sub(first).Round(time.Second))
}

// line prints a line that stays, clearing the status line first.
func (s *Stream) line(format string, args ...any) {
	s.clearStatus()
	s.p.printf(format, args...)
	s.lastOut = s.now()
}

func (s *Stream) clearStatus() {
	if s.status {
		s.p.printf("\r\x1b[K")
		s.status = false
	}
}

// Close stops the status line without a summary, for a run that could
// not happen; Finish calls it.
func (s *Stream) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.stopped.Wait()
		s.mu.Lock()
		s.clearStatus()
		s.mu.Unlock()
	})
}

// Finish prints what only the whole run can say: a build failure, and the
// points. It stops the status line; call it once, after the last event.
func (s *Stream) Finish(o *grade.Outcome) {
	s.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearStatus()
	p := s.p
	for _, n := range o.Notices {
		if !s.noticed[n] { // said after the run, such as progress that could not be saved
			p.printf("%s %s\n", p.st.warn.Render("note:"), n)
		}
	}
	if !o.Build.OK {
		p.printf("\n%s the lab does not compile, so no part could run:\n", p.st.bad.Render("BUILD FAILED"))
		p.printf("%s\n\n", strings.TrimRight(indent(o.Build.Output, "  "), "\n "))
		for _, pr := range o.Parts {
			p.printf("%s part %d  %s %s\n", pad(p.st.bad.Render("NO BUILD"), 8), pr.Part.Number, pad(cut(pr.Part.Title, 46), 46),
				p.st.dim.Render(fmt.Sprintf("0/%d  did not build", pr.Part.Points)))
		}
		return
	}
	earned, total := 0, 0
	for _, pr := range o.Parts {
		total += pr.Part.Points
		if pr.Status == run.Passed {
			earned += pr.Part.Points
		}
	}
	p.printf("\n%d/%d points from the parts that ran (%s, race detector %s)\n", earned, total,
		o.Elapsed.Round(100*time.Millisecond), o.RaceSummary())
}
