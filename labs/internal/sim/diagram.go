package sim

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"html"
	"io"
	"reflect"
	"strings"
	"time"
)

// Diagram is what a space-time diagram of a run shows.
type Diagram struct {
	Title   string
	Nodes   []NodeID
	Records []Record
	Faults  []Fault  // numbered and marked where they strike
	Dropped uint64   // records before Records that were not kept
	Failure *Failure // what stopped the run, if anything
	Verdict string   // else, what the test said when it failed
}

// MaxDiagramRecords is how many of a run's last records a diagram draws;
// the trace has them all.
const MaxDiagramRecords = 20000

// The diagram's geometry, in pixels.
const (
	laneGap  = 170
	laneLeft = 120
	top      = 16
)

// WriteDiagram writes a run as a self-contained HTML page: one lane per
// node, time flowing down, each message an arrow from its send to its
// delivery (a lost one ends in a cross), timers, crashes and restarts on
// the lanes, partitions and cuts shaded across them, state changes
// labelled, the faults numbered and the failure marked.
func WriteDiagram(out io.Writer, d Diagram) error {
	w := bufio.NewWriter(out)
	records := d.Records
	skipped := d.Dropped
	if len(records) > MaxDiagramRecords {
		skipped += uint64(len(records) - MaxDiagramRecords)
		records = records[len(records)-MaxDiagramRecords:]
	}
	lay := layout(d.Nodes, records)
	width := laneLeft + (len(d.Nodes)-1)*laneGap + 260

	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>\n<style>%s</style></head><body>\n", esc(d.Title), diagramCSS)
	fmt.Fprintf(w, "<header><h1>%s</h1>\n", esc(d.Title))
	switch {
	case d.Failure != nil:
		fmt.Fprintf(w, "<p class=\"failure\"><a href=\"#failure\">%s</a></p>\n", esc(firstLine(d.Failure.Error())))
	case d.Verdict != "":
		fmt.Fprintf(w, "<p class=\"failure\">The test failed at the end of the run: %s</p>\n", esc(d.Verdict))
	}
	numbered := numberFaults(d.Faults)
	if len(d.Faults) > 0 {
		fmt.Fprintf(w, "<ol class=\"faults\">")
		for i, f := range d.Faults {
			fmt.Fprintf(w, "<li><a href=\"#fault-%d\">%s</a></li>", i+1, esc(strings.TrimSpace(f.String())))
		}
		fmt.Fprintf(w, "</ol>\n")
	} else {
		fmt.Fprintf(w, "<p>No faults: no crash, partition, cut, or lost, duplicated or delayed message.</p>\n")
	}
	if skipped > 0 {
		fmt.Fprintf(w, "<p class=\"note\">The first %d events are not drawn; the trace file has every event that was kept.</p>\n", skipped)
	}
	writeLegend(w, records)
	fmt.Fprintf(w, "<svg class=\"lanes\" width=\"%d\" height=\"28\">", width)
	for i, id := range d.Nodes {
		fmt.Fprintf(w, "<text x=\"%d\" y=\"20\" class=\"lane-name\">%s</text>", laneLeft+i*laneGap, id)
	}
	fmt.Fprintf(w, "</svg></header>\n")

	fmt.Fprintf(w, "<svg width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">\n", width, lay.height+40)
	fmt.Fprintf(w, "<defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>\n")
	lay.drawBands(w, records, width)
	lay.drawLanes(w, d.Nodes, records)
	lay.drawClock(w, records)
	lay.drawMessages(w, records, numbered)
	lay.drawMarks(w, records, numbered, width)
	fmt.Fprintf(w, "</svg>\n<script>%s</script>\n</body></html>\n", diagramJS)
	return w.Flush()
}

func esc(s string) string { return html.EscapeString(s) }

// diagramLayout places each record at a height: time flows down, a gap in
// virtual time adds space (up to a point), and events at one instant on one
// lane are spread a little.
type diagramLayout struct {
	y      []int
	lane   map[NodeID]int
	height int
}

func layout(nodes []NodeID, records []Record) *diagramLayout {
	l := &diagramLayout{y: make([]int, len(records)), lane: map[NodeID]int{}}
	for i, id := range nodes {
		l.lane[id] = laneLeft + i*laneGap
	}
	y := top
	last := map[NodeID]int{}
	var prev time.Duration
	for i, r := range records {
		if i > 0 && r.At != prev {
			ms := float64(r.At-prev) / float64(time.Millisecond)
			y += 6 + int(min(34, ms*1.2))
			clear(last)
		} else if seen, ok := last[r.Node]; ok && seen == y {
			y += 7
		}
		prev = r.At
		l.y[i] = y
		last[r.Node] = y
	}
	l.height = y + 30
	return l
}

func (l *diagramLayout) x(id NodeID) int {
	if x, ok := l.lane[id]; ok {
		return x
	}
	return laneLeft - 60 // the test's own events
}

// drawBands shades partitions and cuts, from when they begin to the heal.
// A partition replaces the one before; cuts add up; a heal ends them all.
func (l *diagramLayout) drawBands(w *bufio.Writer, records []Record, width int) {
	from := -1
	var partition string
	var cuts []string
	label := func() string {
		return strings.Join(append([]string{partition}, cuts...), "; ")
	}
	for i, r := range records {
		if r.Kind != KindNetwork {
			continue
		}
		if from >= 0 && l.y[i] > l.y[from] {
			l.band(w, l.y[from], l.y[i], strings.TrimPrefix(label(), "; "), width)
		}
		switch {
		case r.Text == "heal":
			partition, cuts, from = "", nil, -1
			continue
		case strings.HasPrefix(r.Text, "cut"):
			cuts = append(cuts, r.Text)
		default:
			partition = r.Text
		}
		from = i
	}
	if from >= 0 {
		l.band(w, l.y[from], l.height, strings.TrimPrefix(label(), "; "), width)
	}
}

func (l *diagramLayout) band(w *bufio.Writer, from, to int, label string, width int) {
	class := "partition"
	if !strings.Contains(label, "partition") {
		class = "cut"
	}
	fmt.Fprintf(w, "<rect class=\"%s\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\"><title>%s</title></rect>", class, from, width, max(2, to-from), esc(label))
	fmt.Fprintf(w, "<text class=\"band-label\" x=\"%d\" y=\"%d\">%s</text>\n", width-250, from+12, esc(label))
}

// drawLanes draws each node's line: solid while it runs, dotted while down.
func (l *diagramLayout) drawLanes(w *bufio.Writer, nodes []NodeID, records []Record) {
	for _, id := range nodes {
		x := l.x(id)
		from, up := top, true
		for i, r := range records {
			if r.Node != id {
				continue
			}
			switch {
			case r.Kind == KindCrash && up:
				fmt.Fprintf(w, "<line class=\"lane\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", x, from, x, l.y[i])
				from, up = l.y[i], false
			case (r.Kind == KindRestart || r.Kind == KindStart) && !up:
				fmt.Fprintf(w, "<line class=\"lane down\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", x, from, x, l.y[i])
				from, up = l.y[i], true
			}
		}
		class := "lane"
		if !up {
			class = "lane down"
		}
		fmt.Fprintf(w, "<line class=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", class, x, from, x, l.height)
	}
}

// drawClock writes the virtual time down the left edge, every so often.
func (l *diagramLayout) drawClock(w *bufio.Writer, records []Record) {
	last := -1000
	for i, r := range records {
		if l.y[i]-last < 80 {
			continue
		}
		last = l.y[i]
		fmt.Fprintf(w, "<text class=\"clock\" x=\"4\" y=\"%d\">%s</text><line class=\"tick\" x1=\"0\" y1=\"%d\" x2=\"30\" y2=\"%d\"/>\n",
			l.y[i]+4, strings.TrimSpace(FormatTime(r.At)), l.y[i], l.y[i])
	}
}

type linkMsg struct {
	from, to NodeID
	n        uint32
}

// drawMessages draws an arrow from each send to each delivery or drop.
func (l *diagramLayout) drawMessages(w *bufio.Writer, records []Record, numbered map[faultMark]int) {
	sent := map[linkMsg]int{} // index of the send record
	copies := map[linkMsg]int{}
	for i, r := range records {
		switch r.Kind {
		case KindSend, KindDuplicate:
			sent[linkMsg{r.Node, r.Peer, r.N}] = i
		case KindDeliver, KindDrop:
			key := linkMsg{r.Peer, r.Node, r.N}
			s, ok := sent[key]
			if !ok {
				continue // sent before the records kept
			}
			copies[key]++
			l.arrow(w, records[s], s, r, i, copies[key] > 1, numbered)
		}
	}
}

func (l *diagramLayout) arrow(w *bufio.Writer, send Record, si int, end Record, ei int, second bool, numbered map[faultMark]int) {
	x1, y1 := l.x(send.Node), l.y[si]
	x2, y2 := l.x(end.Node), l.y[ei]
	class := "msg"
	if second {
		class += " twin"
	}
	key := faultMark{kind: FaultDelay, node: send.Node, peer: send.Peer, n: send.N}
	if _, ok := numbered[key]; ok {
		class += " delayed"
	}
	tip := fmt.Sprintf("%s → %s %s, sent %s", send.Node, send.Peer, Describe(send.Msg), strings.TrimSpace(FormatTime(send.At)))
	marker := " marker-end=\"url(#head)\""
	if end.Kind == KindDrop {
		class += " lost"
		marker = ""
		tip += ", lost: " + end.Text
		if ei == si+1 && end.At == send.At && end.Text == "the network lost it" || end.Text == "partition" && end.At == send.At {
			// Lost as it left: a stub toward the receiver.
			x2 = x1 + (x2-x1)*2/5
			y2 = y1 + 14
		}
	} else {
		tip += ", delivered " + strings.TrimSpace(FormatTime(end.At))
	}
	fmt.Fprintf(w, "<g class=\"%s\" style=\"--c:%s\"><title>%s</title><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"%s/>", class, colorOf(send.Msg), esc(tip), x1, y1, x2, y2, marker)
	if end.Kind == KindDrop {
		fmt.Fprintf(w, "<path class=\"cross\" d=\"M%d,%d l8,8 m0,-8 l-8,8\"/>", x2-4, y2-4)
	}
	for _, kind := range []FaultKind{FaultLoss, FaultDuplicate, FaultDelay} {
		if n, ok := numbered[faultMark{kind: kind, node: send.Node, peer: send.Peer, n: send.N}]; ok && !second {
			if kind == FaultLoss && end.Kind != KindDrop {
				continue
			}
			fmt.Fprintf(w, "<g id=\"fault-%d\"><circle class=\"fault\" cx=\"%d\" cy=\"%d\" r=\"9\"/><text class=\"fault-n\" x=\"%d\" y=\"%d\">%d</text></g>", n, (x1+x2)/2, (y1+y2)/2, (x1+x2)/2, (y1+y2)/2+4, n)
		}
	}
	fmt.Fprintf(w, "</g>\n")
}

// drawMarks draws what happens on a lane: timers, crashes, restarts, state
// changes, log lines, and the failure.
func (l *diagramLayout) drawMarks(w *bufio.Writer, records []Record, numbered map[faultMark]int, width int) {
	for i, r := range records {
		x, y := l.x(r.Node), l.y[i]
		tip := esc(strings.TrimSpace(r.String()))
		switch r.Kind {
		case KindTimer:
			fmt.Fprintf(w, "<circle class=\"timer\" cx=\"%d\" cy=\"%d\" r=\"3.5\"><title>%s</title></circle>\n", x, y, tip)
		case KindCrash:
			fmt.Fprintf(w, "<g class=\"crash\"><title>%s</title><path d=\"M%d,%d l14,14 m0,-14 l-14,14\"/><text x=\"%d\" y=\"%d\">crash</text></g>\n", tip, x-7, y-7, x+12, y+4)
		case KindStart, KindRestart:
			fmt.Fprintf(w, "<g class=\"start\"><title>%s</title><rect x=\"%d\" y=\"%d\" width=\"16\" height=\"4\"/><text x=\"%d\" y=\"%d\">%s</text></g>\n", tip, x-8, y-2, x+12, y+4, r.Kind)
		case KindState:
			st, _ := r.Msg.(State)
			class := "state"
			if strings.EqualFold(st.Role, "leader") {
				class += " leader"
			}
			fmt.Fprintf(w, "<text class=\"%s\" x=\"%d\" y=\"%d\"><title>%s</title>%s</text>\n", class, x+8, y+4, tip, esc(compactState(st)))
		case KindLog:
			fmt.Fprintf(w, "<circle class=\"log\" cx=\"%d\" cy=\"%d\" r=\"2\"><title>%s</title></circle>\n", x+5, y, tip)
		case KindFailure:
			fmt.Fprintf(w, "<g id=\"failure\" class=\"failed\"><title>%s</title><line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/><text x=\"%d\" y=\"%d\">%s</text></g>\n",
				tip, y, width, y, laneLeft, y+16, esc("failure: "+r.Text))
		}
		if n, ok := numbered[timedMark(r)]; ok {
			fmt.Fprintf(w, "<g id=\"fault-%d\"><circle class=\"fault\" cx=\"%d\" cy=\"%d\" r=\"9\"/><text class=\"fault-n\" x=\"%d\" y=\"%d\">%d</text></g>\n", n, x-22, y, x-22, y+4, n)
		}
	}
}

// compactState is a state label short enough for a lane.
func compactState(st State) string {
	parts := []string{}
	if st.Role != "" {
		parts = append(parts, st.Role)
	}
	if st.Term != 0 {
		parts = append(parts, fmt.Sprintf("t%d", st.Term))
	}
	if st.Log != 0 {
		parts = append(parts, fmt.Sprintf("log %d", st.Log))
	}
	return strings.Join(parts, " ")
}

// faultMark finds where a fault is drawn.
type faultMark struct {
	kind       FaultKind
	node, peer NodeID
	n          uint32
	at         time.Duration
}

func numberFaults(faults []Fault) map[faultMark]int {
	m := map[faultMark]int{}
	for i, f := range faults {
		switch f.Kind {
		case FaultLoss, FaultDuplicate, FaultDelay:
			m[faultMark{kind: f.Kind, node: f.Node, peer: f.Peer, n: f.N}] = i + 1
		case FaultCrash:
			m[faultMark{kind: f.Kind, node: f.Node, at: f.At}] = i + 1
		default:
			m[faultMark{kind: f.Kind, at: f.At}] = i + 1
		}
	}
	return m
}

// timedMark is the mark of the timed fault a record starts, if it is one.
func timedMark(r Record) faultMark {
	switch {
	case r.Kind == KindCrash:
		return faultMark{kind: FaultCrash, node: r.Node, at: r.At}
	case r.Kind == KindNetwork && strings.HasPrefix(r.Text, "partition"):
		return faultMark{kind: FaultPartition, at: r.At}
	case r.Kind == KindNetwork && strings.HasPrefix(r.Text, "cut"):
		return faultMark{kind: FaultCut, at: r.At}
	}
	return faultMark{}
}

var palette = []string{"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#3b5bdb", "#0b7285"}

// colorOf gives each message type its own color.
func colorOf(msg Message) string { return colorOfType(typeName(msg)) }

func colorOfType(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return palette[h.Sum32()%uint32(len(palette))]
}

// typeName is a message's Go type, as traces name it.
func typeName(msg Message) string {
	if msg == nil {
		return ""
	}
	return reflect.TypeOf(msg).String()
}

func writeLegend(w *bufio.Writer, records []Record) {
	seen := map[string]bool{}
	var names []string
	for _, r := range records {
		if r.Kind == KindSend || r.Kind == KindDuplicate {
			if n := typeName(r.Msg); !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	fmt.Fprintf(w, "<p class=\"legend\">")
	for _, n := range names {
		short := n[strings.LastIndex(n, ".")+1:]
		fmt.Fprintf(w, "<span style=\"color:%s\">━▶ %s</span> ", colorOfType(n), esc(short))
	}
	fmt.Fprintf(w, "<span class=\"lost-key\">━✕ lost</span> <span>┅▶ second copy</span> <span class=\"delayed-key\">━▶ held back</span> <span>● timer</span> <span class=\"crash-key\">✕ crash</span> <span class=\"partition-key\">▇ partition</span> <span class=\"cut-key\">▇ cut</span></p>\n")
}

const diagramCSS = `body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:6px 12px;z-index:1}
h1{font-size:15px;margin:0 0 4px}
.failure a{color:#c00;font-weight:600}
ol.faults{margin:4px 0;padding-left:22px;font-family:ui-monospace,monospace;font-size:12px}
.note{color:#666;margin:2px 0}
.legend span{margin-right:10px;white-space:nowrap}
.lost-key,.crash-key{color:#c00}.delayed-key{color:#e8590c}.partition-key{color:#f5d7a1}.cut-key{color:#d0e4f5}
svg{display:block;margin-left:12px}
.lane-name{font-weight:700;text-anchor:middle}
.lane{stroke:#444;stroke-width:1.5}.lane.down{stroke:#bbb;stroke-dasharray:2 4}
.partition{fill:#f5d7a1;opacity:.45}.cut{fill:#d0e4f5;opacity:.5}
.band-label{fill:#8a5a00;font-size:11px}
.clock{font:11px ui-monospace,monospace;fill:#666}.tick{stroke:#ddd}
.msg line{stroke:var(--c);stroke-width:1.2}.msg.twin line{stroke-dasharray:5 3}
.msg.lost line{stroke:#c00;stroke-dasharray:3 2}.msg.delayed line{stroke:#e8590c;stroke-width:2.2}
.msg:hover line{stroke-width:3}
.cross{stroke:#c00;stroke-width:2;fill:none}
.timer{fill:#fff;stroke:#555}
.crash path{stroke:#c00;stroke-width:3}.crash text{fill:#c00;font-size:11px;font-weight:600}
.start rect{fill:#2b8a3e}.start text{fill:#2b8a3e;font-size:11px}
.state{font-size:11px;fill:#333}.state.leader{font-weight:700;fill:#5f3dc4}
.log{fill:#999}
.failed line{stroke:#c00;stroke-width:2}.failed text{fill:#c00;font-weight:700}
.fault{fill:#ffd43b;stroke:#c00;stroke-width:2}.fault-n{text-anchor:middle;font-size:11px;font-weight:700}
:target circle.fault{fill:#ff6b6b}`

// The page opens at the failure, the reason to look at it.
const diagramJS = `window.addEventListener('load',function(){var f=document.getElementById('failure');if(f&&!location.hash)f.scrollIntoView({block:'center'})})`
