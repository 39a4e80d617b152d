package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/labs/watch"
)

// The cluster itself (leader lines, stop, start, status, quit) is tested in
// labs/watch on nodes of its own; these tests are of the command around it.

func runArgs(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestBadUsageExitsTwo(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "raftrun: -n 0: a cluster here has 1 to 9 nodes"},
		{[]string{"-n", "10"}, "raftrun: -n 10: a cluster here has 1 to 9 nodes"},
		{[]string{"-lab", "99"}, "raftrun: -lab 99: no such lab with a node to run; -lab accepts 03, 3 or raft-election"},
		{[]string{"-lab", "idempotency"}, "-lab accepts 03, 3 or raft-election"},
		{[]string{"stop"}, `raftrun: unexpected argument "stop"`},
		{[]string{"-seed", "x"}, `invalid value "x" for flag -seed`},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
	} {
		code, stdout, stderr := runArgs(t, "", tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("raftrun %s: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.want)
		}
		if !strings.Contains(stderr, "Usage: raftrun") {
			t.Errorf("raftrun %s: no usage line in:\n%s", strings.Join(tc.args, " "), stderr)
		}
	}
}

func TestHelpGoesToStdout(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		code, stdout, stderr := runArgs(t, "", "-n", "3", arg)
		if code != exitOK || !strings.HasPrefix(stdout, "Usage: raftrun") || !strings.Contains(stdout, "-solution") || stderr != "" {
			t.Errorf("raftrun %s: exit %d, stderr %q, stdout:\n%s", arg, code, stderr, stdout)
		}
	}
}

func TestLabNames(t *testing.T) {
	for dir, names := range map[string][]string{"03-raft-election": {"03", "3", "raft-election"}, "04-raft-log": {"04", "4", "raft-log"}} {
		for _, name := range names {
			opts, code, ok := parseFlags([]string{"-lab", name}, nil, nil)
			if !ok || opts.lab.dir != dir || opts.n != 5 {
				t.Errorf("-lab %s: ok %v (exit %d), lab %q, n %d", name, ok, code, opts.lab.dir, opts.n)
			}
		}
	}
}

// Lab 04's clerk takes put, append and get; the commands check their
// arguments before they reach it.
func TestLab04TakesPutAppendAndGet(t *testing.T) {
	tg := kvTarget(3)
	var names []string
	for _, c := range tg.Commands {
		names = append(names, c.Name)
	}
	if tg.Clients != 1 || !slices.Equal(names, []string{"put", "append", "get"}) {
		t.Fatalf("lab 04's target: %d clients and commands %v, want 1 clerk and put, append, get", tg.Clients, names)
	}
	var printed []string
	a := fakeActions{printf: func(format string, args ...any) { printed = append(printed, fmt.Sprintf(format, args...)) }}
	tg.Commands[0].Run([]string{"k"}, a)
	if len(printed) != 1 || printed[0] != "usage: put KEY VALUE" {
		t.Errorf("put with one argument printed %q, want its usage", printed)
	}
}

func TestTheSolutionRunGetsTheSameFlagsButSolution(t *testing.T) {
	opts, _, ok := parseFlags([]string{"-n", "3", "-solution", "-log", "-seed=7", "-lab", "3"}, nil, nil)
	if !ok || !opts.solution {
		t.Fatalf("parse: ok %v, solution %v", ok, opts.solution)
	}
	want := []string{"-lab=3", "-log=true", "-n=3", "-seed=7"}
	if !slices.Equal(opts.childArgs, want) {
		t.Errorf("child's flags %q, want %q", opts.childArgs, want)
	}
	got := solutionArgs("/tmp/o.json", opts.childArgs)
	want = append([]string{"run", "-tags", "solution", "-overlay", "/tmp/o.json", "./cmd/raftrun"}, want...)
	if !slices.Equal(got, want) {
		t.Errorf("go %q, want go %q", got, want)
	}
}

// workbook makes a small workbook: go.mod, a lab's stub, and unless
// student, its solution.
func workbook(t *testing.T, student bool) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                        "module example.com/wb\n",
		"labs/03-raft-election/node.go": "package raft\n",
		"labs/03-raft-election/raft.go": "package raft\n",
	}
	if !student {
		files["solutions/03-raft-election/node.go"] = "//go:build solution\n\npackage raft\n"
		files["solutions/03-raft-election/wrong/x.patch"] = ""
	}
	for name, text := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// replace decodes an overlay file's mapping.
func replace(t *testing.T, data []byte) map[string]string {
	t.Helper()
	var o struct{ Replace map[string]string }
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatalf("overlay %s: %v", data, err)
	}
	return o.Replace
}

func TestOverlayPutsTheSolutionInPlaceOfTheStub(t *testing.T) {
	root := workbook(t, false)
	// From a relative root too: go wants absolute paths.
	t.Chdir(filepath.Dir(root))
	data, err := overlayJSON(filepath.Base(root), "03-raft-election")
	if err != nil {
		t.Fatal(err)
	}
	got := replace(t, data)
	want := map[string]string{
		filepath.Join(root, "labs", "03-raft-election", "node.go"): filepath.Join(root, "solutions", "03-raft-election", "node.go"),
	}
	if !maps.Equal(got, want) {
		t.Errorf("overlay maps %v, want %v", got, want)
	}
	for from, to := range got {
		if !filepath.IsAbs(from) || !filepath.IsAbs(to) {
			t.Errorf("overlay maps %s to %s: both must be absolute", from, to)
		}
	}
}

func TestOverlayOfThisRepository(t *testing.T) {
	wb, err := catalog.FindWorkbook(".")
	if err != nil {
		t.Fatal(err)
	}
	sol := filepath.Join(wb.Root, "solutions", "03-raft-election", "node.go")
	if _, err := os.Stat(sol); err != nil {
		t.Skip("a student copy: no solutions/")
	}
	data, err := overlayJSON(wb.Root, "03-raft-election")
	if err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(wb.Root, "labs", "03-raft-election", "node.go")
	if got := replace(t, data); got[stub] != sol {
		t.Errorf("overlay maps %v, want %s to %s", got, stub, sol)
	}
}

func TestSolutionOnAStudentCopyExitsTwo(t *testing.T) {
	root := workbook(t, true)
	if _, err := overlayJSON(root, "03-raft-election"); err == nil || !strings.Contains(err.Error(), "no reference solution (no solutions/03-raft-election)") {
		t.Errorf("overlay of a student copy: error %v", err)
	}
	// The whole command, from a folder of the workbook: it says so before
	// it would run go.
	t.Chdir(filepath.Join(root, "labs", "03-raft-election"))
	code, _, stderr := runArgs(t, "", "-solution")
	if code != exitUsage || !strings.Contains(stderr, "raftrun: -solution: this copy of the workbook has no reference solution") {
		t.Errorf("raftrun -solution on a student copy: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestRunsTheLabsNode(t *testing.T) {
	// Whatever state node.go is in, the nodes start, show, and stop.
	code, stdout, stderr := runArgs(t, "status\nquit\n", "-n", "3")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		"3 nodes of labs/03-raft-election (your node.go) on loopback TCP, seed 1\n",
		"\n           n1  ", "\n           n2  ", "\n           n3  ",
		"s  all nodes stopped\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in the output:\n%s", want, stdout)
		}
	}
}

// fakeActions is a command's world with no cluster: it only prints.
type fakeActions struct {
	watch.Actions // nil: a command that reached the cluster would panic
	printf        func(string, ...any)
}

func (f fakeActions) Printf(format string, args ...any) { f.printf(format, args...) }
