package linz

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps what a check said instead of failing.
type recorder struct {
	testing.TB
	name   string
	errors []string
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// clock is a test's own virtual time: each tick is a millisecond.
type clock struct{ now time.Duration }

func (c *clock) read() time.Duration { return c.now }
func (c *clock) tick()               { c.now += time.Millisecond }

func checked(t *testing.T, h *History) (bool, string) {
	t.Helper()
	r := &recorder{TB: t, name: t.Name()}
	ok := Check(r, h, Options{Dir: t.TempDir()})
	return ok, strings.Join(r.errors, "\n")
}

func TestConcurrentWritesAndReadsThatOneOrderExplainsPass(t *testing.T) {
	var c clock
	h := NewHistory(c.read)
	put1, _ := h.Call(0, Input{Kind: Put, Key: "x", Value: "1"})
	c.tick()
	get, _ := h.Call(1, Input{Kind: Get, Key: "x"}) // overlaps the put: may see "" or "1"
	c.tick()
	put1("")
	c.tick()
	get("1")
	app, _ := h.Call(0, Input{Kind: Append, Key: "x", Value: "2"})
	c.tick()
	app("")
	c.tick()
	last, _ := h.Call(2, Input{Kind: Get, Key: "x"})
	c.tick()
	last("12")
	other, _ := h.Call(2, Input{Kind: Get, Key: "y"})
	c.tick()
	other("")

	ok, msg := checked(t, h)
	if !ok {
		t.Fatalf("a linearizable history failed the check:\n%s", msg)
	}
}

func TestAStaleReadFailsAndNamesTheOperation(t *testing.T) {
	var c clock
	h := NewHistory(c.read)
	put, _ := h.Call(0, Input{Kind: Put, Key: "x", Value: "1"})
	c.tick()
	put("")
	c.tick()
	get, _ := h.Call(1, Input{Kind: Get, Key: "x"}) // called after the put returned
	c.tick()
	get("")
	dir := t.TempDir()
	r := &recorder{TB: t, name: "TestKV/stale read"}
	if Check(r, h, Options{Dir: dir}) {
		t.Fatal("a read of the old value after the write returned passed the check")
	}
	msg := strings.Join(r.errors, "\n")
	for _, want := range []string{`key "x"`, `client 1 get("x") → ""`, "called at 2ms", "rule: every operation takes effect", "open " + dir} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure should say %q; it said:\n%s", want, msg)
		}
	}
	page, err := os.ReadFile(dir + "/TestKV_stale_read.html")
	if err != nil {
		t.Fatalf("the history's page was not written: %v", err)
	}
	if !strings.Contains(string(page), "<html") {
		t.Errorf("the page is not HTML: %.80q", page)
	}
}

func TestAWriteWithoutAnAnswerMayHaveTakenEffectOrNot(t *testing.T) {
	for _, seen := range []string{"", "1"} {
		t.Run(fmt.Sprintf("later read sees %q", seen), func(t *testing.T) {
			var c clock
			h := NewHistory(c.read)
			_, gaveUp := h.Call(0, Input{Kind: Put, Key: "x", Value: "1"})
			c.tick()
			gaveUp()
			c.tick()
			get, _ := h.Call(1, Input{Kind: Get, Key: "x"})
			c.tick()
			get(seen)
			if ok, msg := checked(t, h); !ok {
				t.Fatalf("a write the client never heard back from may or may not have happened; the check said:\n%s", msg)
			}
		})
	}
	var c clock
	h := NewHistory(c.read)
	_, gaveUp := h.Call(0, Input{Kind: Put, Key: "x", Value: "1"})
	gaveUp()
	c.tick()
	get, _ := h.Call(1, Input{Kind: Get, Key: "x"})
	c.tick()
	get("2") // never written by anyone
	if ok, _ := checked(t, h); ok {
		t.Fatal("a read of a value nobody wrote passed the check")
	}
}

// A check that runs out of time has not shown the history correct: it
// fails, and says so.
func TestACheckThatRunsOutOfTimeFails(t *testing.T) {
	var c clock
	h := NewHistory(c.read)
	// Thirty writes all at once, then a read of a value none of them
	// wrote: to be sure, the search must try every order of the writes.
	var done []func(string)
	for i := range 30 {
		ok, _ := h.Call(i, Input{Kind: Put, Key: "x", Value: fmt.Sprint(i)})
		done = append(done, ok)
	}
	c.tick()
	for _, ok := range done {
		ok("")
	}
	c.tick()
	get, _ := h.Call(30, Input{Kind: Append, Key: "x", Value: "!"})
	c.tick()
	get("")
	check, _ := h.Call(31, Input{Kind: Get, Key: "x"})
	c.tick()
	check("none of them")
	r := &recorder{TB: t, name: t.Name()}
	if Check(r, h, Options{Budget: time.Nanosecond, Dir: t.TempDir()}) {
		t.Fatal("a check with no time to search passed")
	}
	msg := strings.Join(r.errors, "\n")
	for _, want := range []string{"32 operations on 1 key had not decided after 1ns", "rule: a history the checker cannot decide is not shown correct"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure should say %q; it said:\n%s", want, msg)
		}
	}
}
