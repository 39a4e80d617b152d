package tui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// timelineModel steps through a failing run's trace, one event at a time,
// with every node's state at that event: a debugger for a run that has
// already happened.
type timelineModel struct {
	c       *common
	path    string
	events  []traceEvent
	nodes   []string // n1, n2, ... in order
	at      int      // the event under the cursor
	failure int      // the failure's event, or -1
	err     string   // why the trace could not be read
}

// traceEvent is one line of a trace file, as the simulator writes it.
type traceEvent struct {
	Seq   uint64 `json:"seq"`
	At    string `json:"at"`
	Kind  string `json:"kind"`
	Node  string `json:"node"`
	Peer  string `json:"peer"`
	Msg   string `json:"msg"`
	Text  string `json:"text"`
	State *struct {
		Role string `json:"role"`
		Term uint64 `json:"term"`
		Vote string `json:"vote"`
		Log  int    `json:"log"`
	} `json:"state"`
}

// fault reports whether the event is one of the run's faults striking.
func (e traceEvent) fault() bool {
	switch e.Kind {
	case "crash", "duplicate", "network":
		return e.Text != "heal"
	case "drop":
		return e.Text == "the network lost it"
	}
	return false
}

// line is the event as a timeline line, as a failing test prints it
// (sim.Record.String, which the grader does not import).
func (e traceEvent) line() string {
	node := e.Node
	if node == "" {
		node = "--"
	}
	var what string
	switch e.Kind {
	case "send":
		what = fmt.Sprintf("→ %-4s %s", e.Peer, e.Msg)
	case "deliver":
		what = fmt.Sprintf("← %-4s %s", e.Peer, e.Msg)
	case "drop":
		what = fmt.Sprintf("✗ %-4s %s (lost: %s)", e.Peer, e.Msg, e.Text)
	case "duplicate":
		what = fmt.Sprintf("→ %-4s %s (the network will deliver it twice)", e.Peer, e.Msg)
	case "timer":
		what = "⏰ timer " + e.Msg
	case "log":
		what = "• " + e.Text
	case "state":
		what = "◆ " + e.Msg
	default:
		what = e.Kind
		if e.Text != "" {
			what += ": " + e.Text
		}
	}
	return fmt.Sprintf("%9s  %-4s %s", e.At, node, what)
}

// tracePath finds, in a failing test's output, the trace to step through:
// the shrunk run's if there is one, since it has only the faults that
// matter and every node's state.
var tracePath = regexp.MustCompile(`(/\S+\.jsonl)\b`)

func traceIn(output []string) string {
	found := ""
	for _, l := range output {
		for _, m := range tracePath.FindAllStringSubmatch(l, -1) {
			if found == "" || strings.HasSuffix(m[1], "-shrunk.jsonl") {
				found = m[1]
			}
		}
	}
	return found
}

// maxTraceEvents bounds what the screen reads of a trace.
const maxTraceEvents = 1 << 20

func (t *timelineModel) open(path string) {
	*t = timelineModel{c: t.c, path: path, failure: -1}
	f, err := os.Open(path)
	if err != nil {
		t.err = err.Error()
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	seen := map[string]bool{}
	for sc.Scan() && len(t.events) < maxTraceEvents {
		var e traceEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.err = fmt.Sprintf("line %d is not a trace event: %v", len(t.events)+1, err)
			return
		}
		if e.Kind == "failure" {
			t.failure = len(t.events)
		}
		if e.Node != "" && !seen[e.Node] {
			seen[e.Node] = true
			t.nodes = append(t.nodes, e.Node)
		}
		t.events = append(t.events, e)
	}
	if err := sc.Err(); err != nil {
		t.err = err.Error()
	}
	slices.SortFunc(t.nodes, func(a, b string) int { return nodeNumber(a) - nodeNumber(b) })
	t.at = max(t.failure, len(t.events)-1)
	if len(t.events) == 0 && t.err == "" {
		t.err = "the trace is empty"
	}
}

func nodeNumber(id string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "n"))
	return n
}

func (t *timelineModel) key(msg tea.KeyMsg) tea.Cmd {
	k := t.c.keys
	last := len(t.events) - 1
	switch {
	case key.Matches(msg, k.Back):
		return t.c.ask(backToResultsMsg{})
	case key.Matches(msg, k.Up):
		t.at = max(t.at-1, 0)
	case key.Matches(msg, k.Down):
		t.at = min(t.at+1, last)
	case key.Matches(msg, k.PageUp):
		t.at = max(t.at-t.listHeight(), 0)
	case key.Matches(msg, k.PageDown):
		t.at = min(t.at+t.listHeight(), last)
	case key.Matches(msg, k.Top):
		t.at = 0
	case key.Matches(msg, k.Bottom):
		t.at = last
	case key.Matches(msg, k.JumpFailure):
		if t.failure >= 0 {
			t.at = t.failure
		}
	case key.Matches(msg, k.NextFault):
		t.jumpFault(+1)
	case key.Matches(msg, k.PrevFault):
		t.jumpFault(-1)
	}
	return nil
}

// jumpFault moves to the next or previous fault, if there is one.
func (t *timelineModel) jumpFault(by int) {
	for i := t.at + by; i >= 0 && i < len(t.events); i += by {
		if t.events[i].fault() {
			t.at = i
			return
		}
	}
}

// states is each node's state at the event under the cursor.
func (t *timelineModel) states() []string {
	type node struct {
		up    bool
		state string
	}
	now := map[string]*node{}
	for _, id := range t.nodes {
		now[id] = &node{up: true}
	}
	for _, e := range t.events[:t.at+1] {
		n := now[e.Node]
		if n == nil {
			continue
		}
		switch e.Kind {
		case "crash":
			n.up = false
		case "start", "restart":
			n.up, n.state = true, ""
		case "state":
			n.state = e.Msg
		}
	}
	var out []string
	for _, id := range t.nodes {
		n := now[id]
		switch {
		case !n.up:
			out = append(out, fmt.Sprintf("%-4s down", id))
		case n.state == "":
			out = append(out, fmt.Sprintf("%-4s up", id))
		default:
			out = append(out, fmt.Sprintf("%-4s %s", id, n.state))
		}
	}
	return out
}

func (t *timelineModel) listHeight() int {
	return max(t.c.height-len(t.nodes)-8, 3)
}

func (t *timelineModel) viewFrame() string {
	st := t.c.st
	head := st.title.Render("timeline") + "  " + cut(filepath.Base(t.path), t.c.width-10)
	if t.err != "" {
		return t.c.screen(head+"\n", st.bad.Render("The trace could not be read: ")+t.err, t.c.footer(stateTimeline, "", ""))
	}
	e := t.events[t.at]
	head += "\n" + st.dim.Render(fmt.Sprintf("event %d of %d, at %s", t.at+1, len(t.events), strings.TrimSpace(e.At)))
	var body []string
	for _, s := range t.states() {
		body = append(body, "  "+cut(s, t.c.width-2))
	}
	body = append(body, "")
	room := t.listHeight()
	from := min(max(t.at-room/2, 0), max(len(t.events)-room, 0))
	for i := from; i < min(from+room, len(t.events)); i++ {
		line := cut(t.events[i].line(), t.c.width-2)
		switch {
		case i == t.at:
			line = st.selected.Render("▸ " + line)
		case t.events[i].Kind == "failure":
			line = "  " + st.bad.Render(line)
		case t.events[i].fault():
			line = "  " + st.warn.Render(line)
		default:
			line = "  " + line
		}
		body = append(body, line)
	}
	status := ""
	if t.failure < 0 {
		status = "This trace has no failure."
	}
	return t.c.screen(head+"\n", strings.Join(body, "\n"), t.c.footer(stateTimeline, status, ""))
}

type backToResultsMsg struct{}
