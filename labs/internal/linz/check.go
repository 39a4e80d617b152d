package linz

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// DefaultBudget is how long Check searches when Options says nothing.
const DefaultBudget = 10 * time.Second

// Options tune Check.
type Options struct {
	// Budget is how long the search may take; 0 means DefaultBudget.
	Budget time.Duration
	// Dir is where the page of a failing history goes; "" means
	// .grader/linz at the root of the module.
	Dir string
}

// rule is what a linearizable history means, for failure messages.
const rule = "every operation takes effect at one instant between its call and its return, " +
	"and a get returns what the put and appends before it in that order left: for these operations no such order exists, " +
	"so some client saw the store in a state it never was in"

// Check reports whether h is linearizable, and fails t with what went wrong
// when it is not. A search that runs out of its budget fails too: it has not
// shown the history correct, and calling that a pass would let a wrong store
// through on any history hard enough.
func Check(t testing.TB, h *History, opts Options) bool {
	t.Helper()
	budget := opts.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	ops := h.operations()
	res, info := porcupine.CheckOperationsVerbose(KV, ops, budget)
	switch res {
	case porcupine.Ok:
		return true
	case porcupine.Unknown:
		keys := fmt.Sprintf("%d keys", len(byKey(ops)))
		if keys == "1 keys" {
			keys = "1 key"
		}
		t.Errorf("the linearizability check of %d operations on %s had not decided after %v.\n"+
			"rule: a history the checker cannot decide is not shown correct, so the test fails; "+
			"the test has more concurrent operations per key than the check can order in time",
			len(ops), keys, budget)
		return false
	}
	msg := fmt.Sprintf("the clients' history of %d operations is not linearizable:\n%s\nrule: %s", len(ops), explain(ops, info), rule)
	if page, err := writePage(t.Name(), opts.Dir, info); err != nil {
		msg += fmt.Sprintf("\n(the history's page could not be written: %v)", err)
	} else {
		msg += "\nthe history, drawn: open " + page
	}
	t.Errorf("%s", msg)
	return false
}

// explain names, for each key whose history cannot be ordered, how far the
// longest order found got and the operations it could not go on with.
func explain(ops []porcupine.Operation, info porcupine.LinearizationInfo) string {
	partitions := byKey(ops)
	partials := info.PartialLinearizationsOperations()
	var b strings.Builder
	for p, part := range partitions {
		if p >= len(partials) {
			break
		}
		var longest []porcupine.Operation
		for _, l := range partials[p] {
			if len(l) > len(longest) {
				longest = l
			}
		}
		if len(longest) == len(part) {
			continue // this key's history is fine
		}
		placed := map[any]bool{}
		for _, op := range longest {
			placed[op.Metadata] = true
		}
		var rest []porcupine.Operation
		firstReturn := int64(math.MaxInt64)
		for _, op := range part {
			if !placed[op.Metadata] {
				rest = append(rest, op)
				firstReturn = min(firstReturn, op.Return)
			}
		}
		key := part[0].Input.(Input).Key
		fmt.Fprintf(&b, "key %q: the longest order found takes %d of its %d operations", key, len(longest), len(part))
		if len(longest) > 0 {
			fmt.Fprintf(&b, ", the last of them %s", describe(longest[len(longest)-1]))
		}
		b.WriteString("; none of these can come next:\n")
		// What can come next was called before the first of the rest
		// returned; anything called later has to wait for it.
		shown := 0
		for _, op := range rest {
			if op.Call <= firstReturn && shown < 4 {
				fmt.Fprintf(&b, "    %s\n", describe(op))
				shown++
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// describe is an operation in words: who, what, and when.
func describe(op porcupine.Operation) string {
	ret := "never answered"
	if op.Return != math.MaxInt64 {
		ret = "returned at " + time.Duration(op.Return).String()
	}
	return fmt.Sprintf("client %d %s (called at %v, %s)", op.ClientId, op.Input.(Input).describe(op.Output.(Output)), time.Duration(op.Call), ret)
}

// writePage draws the history as porcupine's HTML page and returns where.
func writePage(test, dir string, info porcupine.LinearizationInfo) (string, error) {
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, ".grader", "linz")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ' ' || r == ':' {
			return '_'
		}
		return r
	}, test)
	path := filepath.Join(dir, name+".html")
	return path, porcupine.VisualizePath(KV, info, path)
}

// moduleRoot is the nearest directory up from here that holds a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's directory")
		}
		dir = parent
	}
}
