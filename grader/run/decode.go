package run

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/distlings/distlings/grader/proc"
)

// Output caps. A test that floods its output must not exhaust memory or bury
// the message that matters, which is almost always near the start.
const (
	maxDumpLines   = 20000 // goroutine dump kept to find where a timed-out test was
	maxTestLines   = 400
	maxTailLines   = 100 // of maxTestLines, kept from the end of a long output
	maxTestBytes   = 128 << 10
	maxLineBytes   = 4 << 10
	maxEventBytes  = 1 << 20 // one test2json line
	maxOutputLines = 200     // output outside any test
)

// event is one line of test2json output.
type event struct {
	Time    time.Time
	Action  string
	Test    string
	Elapsed float64
	Output  string
}

type line struct {
	test string // full test name, with subtests
	text string
}

type testState struct {
	res     *TestResult
	started bool
	ended   bool
	lines   []line // the first lines of output, up to the cap
	tail    []line // the latest lines once the cap is reached (a ring)
	next    int    // where the ring writes next
	bytes   int
	dropped int
	failed  map[string]bool // subtests that failed
	// sawEnd is set by the test's own "--- FAIL/PASS/SKIP" line. A test that
	// "fails" without one did not fail: its process died under it.
	sawEnd bool
}

// decoder turns a part's test2json stream into results.
type decoder struct {
	tests   map[string]*testState
	order   []string
	onTest  func(*TestResult)
	pkg     []string
	pkgDrop int

	timedOut    string   // "panic: test timed out after 2m0s"
	running     []string // tests the timeout panic says were running
	inRunning   bool
	panicLine   string
	fatalLine   string
	raced       bool
	dump        []string      // goroutine dump printed on a timeout
	killedAfter time.Duration // set when the grader had to kill the process
	cancelled   bool
	outOfMemory bool     // the race detector could not allocate
	imitated    []string // tests with more than one result

	exit        proc.Exit // how the test process ended
	memoryLimit int64
	heldOutput  bool                // something the tests started kept the output open
	rewrite     func(string) string // maps build-copy paths to the workbook's
}

func newDecoder(names []string) *decoder {
	d := &decoder{tests: map[string]*testState{}, order: names}
	for _, n := range names {
		d.tests[n] = &testState{res: &TestResult{Name: n}, failed: map[string]bool{}}
	}
	return d
}

func topLevel(name string) string {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return name
}

// decode reads events until the stream ends. Lines that are not JSON (which
// test2json should never write) are kept as package output.
func (d *decoder) decode(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		raw, tooLong, err := readLine(br)
		if len(raw) > 0 {
			if tooLong {
				d.packageLine(fmt.Sprintf("[a line of more than %d bytes was cut]", maxEventBytes))
			} else {
				var e event
				if json.Unmarshal(raw, &e) != nil {
					d.packageLine(string(raw))
				} else {
					d.handle(&e)
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// readLine reads one line of at most maxEventBytes, discarding the rest of a
// longer one.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) <= maxEventBytes {
			line = append(line, chunk...)
		} else {
			tooLong = true
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, tooLong, err
	}
}

func (d *decoder) handle(e *event) {
	if d.rewrite != nil && e.Action == "output" {
		e.Output = d.rewrite(e.Output)
	}
	if e.Test == "" {
		if e.Action == "output" {
			d.packageLine(strings.TrimSuffix(e.Output, "\n"))
		}
		return
	}
	top := topLevel(e.Test)
	st := d.tests[top]
	if st == nil {
		return // a test this part did not ask for
	}
	switch e.Action {
	case "run":
		if e.Test == top {
			st.started = true
		}
	case "output":
		d.testLine(st, e.Test, strings.TrimSuffix(e.Output, "\n"))
	case "pass", "fail", "skip":
		if e.Test != top {
			if e.Action == "fail" {
				st.failed[e.Test] = true
			}
			return
		}
		switch {
		case !st.started:
			return // an end without a start is not the testing package's
		case st.ended:
			// A second result: output imitating the test runner. Neither
			// counts.
			d.imitated = append(d.imitated, top)
			st.res.Status = TestFailed
			return
		}
		st.ended = true
		st.res.Elapsed = time.Duration(e.Elapsed * float64(time.Second))
		switch e.Action {
		case "pass":
			st.res.Status = TestPassed
		case "fail":
			st.res.Status = TestFailed
		default:
			st.res.Status = TestSkipped
		}
		d.closeTest(st)
	}
}

var framing = regexp.MustCompile(`^\s*(=== (RUN|PAUSE|CONT|NAME)|--- PASS:)`)

func (d *decoder) testLine(st *testState, test, text string) {
	d.scan(text)
	for _, end := range []string{"--- FAIL: ", "--- PASS: ", "--- SKIP: "} {
		if strings.HasPrefix(text, end+st.res.Name+" ") {
			st.sawEnd = true
			if end != "--- SKIP: " {
				return
			}
		}
	}
	if framing.MatchString(text) {
		return
	}
	if len(text) > maxLineBytes {
		text = text[:maxLineBytes] + " …"
	}
	l := line{test: test, text: text}
	if len(st.lines) < maxTestLines-maxTailLines && st.bytes+len(text) <= maxTestBytes {
		st.lines = append(st.lines, l)
		st.bytes += len(text)
		return
	}
	// Past the cap, keep the latest lines: a failure message usually comes
	// after whatever flooded the output.
	if len(st.tail) < maxTailLines {
		st.tail = append(st.tail, l)
		return
	}
	st.tail[st.next] = l
	st.next = (st.next + 1) % maxTailLines
	st.dropped++
}

// output returns the kept lines in order, with a marker where lines were
// dropped.
func (st *testState) output() []line {
	out := append([]line(nil), st.lines...)
	if st.dropped > 0 {
		out = append(out, line{text: fmt.Sprintf("… %d more lines of output not shown", st.dropped)})
	}
	out = append(out, st.tail[st.next:]...)
	return append(out, st.tail[:st.next]...)
}

// subtestHeadersFirst moves each subtest's "--- FAIL: name" line, which the
// testing package prints after the subtest's output, to just before that
// output: read top to bottom, a message then sits under the name of the
// subtest it belongs to, not above the next one's.
func subtestHeadersFirst(lines []line) []line {
	end := map[string]int{} // subtest → index of its end line
	for i, l := range lines {
		if strings.Contains(l.test, "/") && strings.HasPrefix(strings.TrimSpace(l.text), "--- FAIL: "+l.test+" ") {
			end[l.test] = i
		}
	}
	if len(end) == 0 {
		return lines
	}
	out := make([]line, 0, len(lines))
	moved := map[string]bool{}
	for i, l := range lines {
		// A subtest's first line brings its header, and the headers of the
		// subtests it is nested in, outermost first, if not placed yet.
		var headers []line
		for name := l.test; strings.Contains(name, "/"); name = name[:strings.LastIndex(name, "/")] {
			if j, ok := end[name]; ok && !moved[name] {
				moved[name] = true
				headers = append([]line{lines[j]}, headers...)
			}
		}
		out = append(out, headers...)
		if j, ok := end[l.test]; ok && j == i {
			continue // already placed as its subtest's header
		}
		out = append(out, l)
	}
	return out
}

// closeTest keeps the output of the test itself and of its failing subtests.
func (d *decoder) closeTest(st *testState) {
	var kept []line
	if st.res.Status != TestPassed {
		kept = subtestHeadersFirst(st.output())
	}
	for _, l := range kept {
		if l.test == "" || l.test == st.res.Name || st.failed[l.test] || !strings.Contains(l.test, "/") {
			st.res.Output = append(st.res.Output, l.text)
			continue
		}
		// Output of a subtest is shown when it or one of its own subtests failed.
		for name := range st.failed {
			if strings.HasPrefix(name, l.test+"/") {
				st.res.Output = append(st.res.Output, l.text)
				break
			}
		}
	}
	st.res.Truncated = st.dropped > 0 && st.res.Status != TestPassed
	st.lines, st.tail = nil, nil
	if d.onTest != nil {
		d.onTest(st.res)
	}
}

func (d *decoder) packageLine(text string) {
	d.scan(text)
	switch {
	case text == "PASS", text == "FAIL", strings.HasPrefix(text, "ok  \t"), strings.HasPrefix(text, "FAIL\t"),
		strings.HasPrefix(text, "exit status "), strings.HasPrefix(text, "testing: warning: no tests to run"):
		return
	}
	if len(d.pkg) >= maxOutputLines {
		d.pkgDrop++
		return
	}
	d.pkg = append(d.pkg, text)
}

// scan notices the lines that say how a process ended badly.
func (d *decoder) scan(text string) {
	t := strings.TrimSpace(text)
	if d.timedOut != "" && len(d.dump) < maxDumpLines {
		d.dump = append(d.dump, text)
	}
	switch {
	case strings.HasPrefix(t, "panic: test timed out after"):
		d.timedOut, d.inRunning = t, false
	case d.timedOut != "" && t == "running tests:":
		d.inRunning = true
	case d.inRunning && strings.HasPrefix(t, "Test"):
		d.running = append(d.running, strings.Fields(t)[0])
	case strings.HasPrefix(t, "panic: ") && d.panicLine == "":
		d.panicLine, d.inRunning = t, false
	case strings.HasPrefix(t, "fatal error: ") && d.fatalLine == "":
		d.fatalLine, d.inRunning = t, false
	case t == "WARNING: DATA RACE":
		d.raced = true
	case strings.Contains(t, "ThreadSanitizer failed to allocate"), strings.Contains(t, "ThreadSanitizer: out of memory"):
		d.outOfMemory = true
	default:
		if t == "" {
			d.inRunning = false
		}
	}
}

// finish fills res from what was decoded.
func (d *decoder) finish(res *PartResult, defined map[string]bool) {
	var unfinished, missing []string
	for _, name := range d.order {
		st := d.tests[name]
		switch {
		case defined != nil && !defined[name]:
			st.res.Status = TestNotFound
			missing = append(missing, name)
		case st.ended && st.res.Status == TestFailed && !st.sawEnd:
			// test2json ends a test as failed when its process dies under it.
			st.res.Status = TestCrashed
			unfinished = append(unfinished, name)
		case st.started && !st.ended:
			st.res.Status = TestCrashed
			st.res.Output = nil
			for _, l := range st.output() {
				st.res.Output = append(st.res.Output, l.text)
			}
			st.res.Truncated = st.dropped > 0
			unfinished = append(unfinished, name)
		case !st.ended:
			st.res.Status = TestNotRun
		}
		res.Tests = append(res.Tests, st.res)
	}
	res.Output = d.pkg
	if d.pkgDrop > 0 {
		res.Truncated = true
		res.Output = append(res.Output, fmt.Sprintf("… %d more lines of output not shown", d.pkgDrop))
	}

	allPassed := true
	for _, t := range res.Tests {
		if t.Status != TestPassed {
			allPassed = false
		}
	}
	running := d.running
	if len(running) == 0 {
		running = unfinished
	}
	started := false
	for _, st := range d.tests {
		started = started || st.started
	}
	if d.exit.Success() {
		// A process that exited 0 did not panic or run out of memory: a
		// line saying so was the code's own output.
		d.panicLine, d.fatalLine, d.timedOut, d.outOfMemory = "", "", "", false
	}
	memory := memoryNote(d, d.exit, d.memoryLimit)
	switch {
	case d.timedOut != "" || d.killedAfter > 0:
		res.Status, res.Note = TimedOut, timeoutNote(d, running)
	case d.cancelled:
		res.Status, res.Note = Crashed, "stopped before it finished"
	case memory != "":
		res.Status, res.Note = Crashed, memory
		if len(unfinished) > 0 {
			res.Note += " while running " + strings.Join(unfinished, ", ")
		}
	case d.panicLine != "":
		res.Status, res.Note = Crashed, crashNote(d.panicLine, unfinished, d.tests)
	case d.fatalLine != "":
		res.Status, res.Note = Crashed, fatalNote(d.fatalLine)
	case !started && d.exit.Started && len(missing) < len(d.order):
		res.Status = Crashed
		res.Note, res.Exited = startupNote(d, d.exit, d.memoryLimit)
	case len(unfinished) > 0:
		res.Status = Crashed
		res.Note, res.Exited = exitNote(d.exit, unfinished)
	case len(d.imitated) > 0:
		res.Status = Failed
		res.Note = fmt.Sprintf("%s reported more than one result: the code printed output that imitates the test runner, so neither counts", strings.Join(d.imitated, ", "))
	case allPassed && d.exit.Started && !d.exit.Success():
		// Every test says it passed, yet the process failed: the results
		// were not the testing package's own.
		res.Status, res.Note = Failed, "the test process "+d.exit.String()+" after its tests passed"
	case allPassed:
		res.Status = Passed
	default:
		res.Status = Failed
		if len(missing) > 0 {
			res.Note = fmt.Sprintf("lab.toml names %s, which the lab's tests do not define", strings.Join(missing, ", "))
		} else if d.raced {
			res.Note = "the race detector found a data race"
		}
	}
	switch {
	case d.heldOutput:
		res.Note = joinNotes(res.Note, "a process the tests started kept their output open after they ended; the grader stopped it")
	case d.exit.Leftovers:
		res.Note = joinNotes(res.Note, "processes the tests started were still running after they ended; the grader stopped them")
	}
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// memoryNote says the process ran out of memory, or "" if nothing says so.
// Under the lab's limit, allocation fails and the runtime says so; a
// SIGKILL nobody in the grader sent is most often the system's OOM killer.
func memoryNote(d *decoder, exit proc.Exit, limit int64) string {
	if exit.OverMemory || d.outOfMemory || strings.Contains(d.fatalLine, "out of memory") {
		if limit > 0 {
			return fmt.Sprintf("the test process used more than %d MiB of memory, the lab's limit", limit>>20)
		}
		return "the test process ran out of memory"
	}
	if exit.Signal == "SIGKILL" && !exit.TimedOut && !exit.Cancelled {
		return "the test process was killed by SIGKILL: out of memory?"
	}
	return ""
}

// exitNote says how the process ended while tests were running, and
// whether it was by exiting.
func exitNote(exit proc.Exit, unfinished []string) (note string, exited bool) {
	running := strings.Join(unfinished, ", ")
	switch {
	case exit.Signal != "":
		return fmt.Sprintf("the test process was killed by %s while %s was running", exit.Signal, running), false
	case exit.Started && exit.Code >= 0:
		return fmt.Sprintf("the test process exited with status %d while %s was running: something called os.Exit", exit.Code, running), true
	}
	return fmt.Sprintf("the test process ended while %s was running (did the code call os.Exit?)", running), false
}

func timeoutNote(d *decoder, running []string) string {
	after := ""
	if d.timedOut != "" {
		after = strings.TrimPrefix(d.timedOut, "panic: test timed out after ")
	} else {
		after = d.killedAfter.String() + " (stopped by the grader)"
	}
	if len(running) == 0 {
		return "timed out after " + after
	}
	note := fmt.Sprintf("timed out after %s while running %s", after, strings.Join(running, ", "))
	if where := blockedAt(d.dump, running[0]); where != "" {
		note += "; it was " + where
	}
	return note
}

// blockedAt reads a goroutine dump and says where the goroutine running test
// was waiting, e.g. "blocked in sync.Mutex.Lock at bad.go:14": a hang is
// usually a deadlock, and this is where to look.
func blockedAt(dump []string, test string) string {
	fallback := ""
	for i := 0; i < len(dump); i++ {
		header := strings.TrimSpace(dump[i])
		if !strings.HasPrefix(header, "goroutine ") || !strings.HasSuffix(header, ":") {
			continue
		}
		state := header[strings.IndexByte(header, '[')+1 : strings.LastIndexByte(header, ']')]
		state, _, _ = strings.Cut(state, ",")
		var frames []string // function, file:line pairs
		j := i + 1
		for ; j < len(dump) && strings.TrimSpace(dump[j]) != ""; j++ {
			frames = append(frames, strings.TrimSpace(dump[j]))
		}
		i = j
		// The test's own goroutine, or one it started (a synctest bubble
		// runs the test's function literal on a goroutine of its own).
		if state == "running" || !(stackHas(frames, "."+test+"(") || stackHas(frames, "."+test+".func")) {
			continue
		}
		// The first frame outside the runtime, the standard library's
		// machinery and package testing is the code (the learner's or the
		// test's) that is waiting.
		where, bubble := "", false
		for k := 0; k+1 < len(frames); k += 2 {
			loc := frames[k+1]
			if strings.Contains(loc, "/src/testing/synctest/") {
				bubble = true // the test waits for its bubble: look there
			}
			if strings.Contains(loc, "/src/runtime/") || strings.Contains(loc, "/src/sync/") ||
				strings.Contains(loc, "/src/internal/") || strings.Contains(loc, "/src/time/") ||
				strings.Contains(loc, "/src/testing/") {
				continue
			}
			loc, _, _ = strings.Cut(loc, " +0x")
			where = fmt.Sprintf("blocked in %s at %s", state, shortPath(loc))
			break
		}
		if where != "" && !bubble {
			return where
		}
		if fallback == "" {
			fallback = where
			if fallback == "" {
				fallback = "blocked in " + state
			}
		}
	}
	return fallback
}

func stackHas(frames []string, s string) bool {
	for _, f := range frames {
		if strings.Contains(f, s) {
			return true
		}
	}
	return false
}

// shortPath keeps the file name and line of a stack location.
func shortPath(loc string) string {
	if i := strings.LastIndexAny(loc, `/\`); i >= 0 {
		return loc[i+1:]
	}
	return loc
}

func crashNote(panicLine string, unfinished []string, tests map[string]*testState) string {
	msg := strings.TrimPrefix(panicLine, "panic: ")
	msg = strings.TrimSuffix(strings.TrimSuffix(msg, " [recovered]"), " [recovered, repanicked]")
	who := ""
	for name, st := range tests {
		for _, o := range st.res.Output {
			if strings.Contains(o, panicLine) {
				who = name
			}
		}
	}
	if who == "" && len(unfinished) > 0 {
		who = unfinished[0]
	}
	if strings.HasPrefix(msg, "unexpected call to os.Exit") {
		return fmt.Sprintf("%s called os.Exit; a test process must not exit", orSomething(who))
	}
	return fmt.Sprintf("%s panicked: %s", orSomething(who), msg)
}

func fatalNote(line string) string {
	msg := strings.TrimPrefix(line, "fatal error: ")
	if strings.Contains(msg, "deadlock") {
		return "deadlock: " + msg
	}
	return "fatal error: " + msg
}

func orSomething(name string) string {
	if name == "" {
		return "the test process"
	}
	return name
}
