package forgery

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lines renders findings as "LINE: what", the shape the cases are written in.
func lines(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%d: %s", f.Line, f.What))
	}
	return out
}

// Each case is a file body after "package breaker\n\n", so its first line is 3.
// want holds "LINE: part of What", one per finding, in order.
var cases = []struct {
	name string
	body string
	want []string
}{
	// Framing in strings.
	{"pass line", `var s = "--- PASS: TestAllow (0.00s)"`, []string{`3: test-runner framing ("--- PASS")`}},
	{"fail line", `var s = "--- FAIL: TestX"`, []string{`3: ("--- FAIL")`}},
	{"skip line", `var s = "--- SKIP: TestX"`, []string{`3: ("--- SKIP")`}},
	{"run line", `var s = "=== RUN   TestX"`, []string{`3: ("=== RUN")`}},
	{"cont line", `var s = "=== CONT  TestX"`, []string{`3: ("=== CONT")`}},
	{"pause line", `var s = "=== PAUSE TestX"`, []string{`3: ("=== PAUSE")`}},
	{"name line", `var s = "=== NAME  TestX"`, []string{`3: ("=== NAME")`}},
	{"PASS on its own line", `var s = "done\nPASS\n"`, []string{`3: ("PASS" on a line of its own)`}},
	{"ok summary", `var s = "ok  \tpkg\t0.1s"`, []string{`3: ("ok  \t")`}},
	{"FAIL summary", `var s = "FAIL\tpkg\t0.1s"`, []string{`3: ("FAIL\t")`}},
	{"0x16 escaped", `var s = "\x16"`, []string{"3: the byte 0x16"}},
	{"0x16 as unicode escape", `var s = "\u0016--- PASS"`, []string{"3: the byte 0x16"}},
	{"0x16 rune", `var r = '\x16'`, []string{"3: the byte 0x16"}},
	{"0x16 by conversion", `var s = string(rune(0x16))`, []string{"3: the byte 0x16"}},
	{"0x16 in a byte slice", `var b = []byte{22, '-', '-'}`, []string{"3: the byte 0x16"}},
	{"framing in a byte slice", `var b = []byte{'=', '=', '=', ' ', 'R', 'U', 'N'}`, []string{`3: ("=== RUN")`}},
	{"raw string", "var s = `--- PASS: TestX`", []string{`3: ("--- PASS")`}},
	{"split in two", `var s = "--- PA" + "SS"`, []string{`3: ("--- PASS")`}},
	{"split across lines", "var s = \"--- \" +\n\t\"PASS\"", []string{`3: ("--- PASS")`}},
	{"split around a variable", `func f(x string) string { return x + "--- PA" + "SS" }`, []string{`3: ("--- PASS")`}},
	{"split through parentheses", `func f(x string) string { return x + ("=== " + ("RU" + "N")) }`, []string{`3: ("=== RUN")`}},
	{"split through constants", "const a = \"--- PA\"\nconst b = a + \"SS\"", []string{`4: ("--- PASS")`}},
	{"split by conversion", `var s = string(rune(22)) + "x"`, []string{"3: the byte 0x16"}},
	{"in a call", `func f() { println("--- FAIL: TestX") }`, []string{`3: ("--- FAIL")`}},
	{"json event", `var s = "{\"Action\":\"pass\",\"Test\":\"TestX\"}"`, []string{`3: test2json event ("Action":"pass")`}},
	{"json event any case", "var s = `{\"action\": \"fail\"}`", []string{`3: test2json event ("action": "fail")`}},
	{"json event template", "var s = `{\"Action\":\"%s\"}`", []string{`3: test2json event ("Action":"%s")`}},

	// Directives.
	{"linkname into testing", "import _ \"unsafe\"\n\n//go:linkname fail testing.(*common).Fail\nfunc fail()",
		[]string{"5: has //go:linkname to testing.(*common).Fail, inside the test runner"}},
	{"linkname elsewhere", "import _ \"unsafe\"\n\n//go:linkname nanotime runtime.nanotime\nfunc nanotime() int64",
		[]string{"5: has //go:linkname to runtime.nanotime"}},
	{"linkname without a target", "//go:linkname x\nvar x int", []string{"3: has a //go:linkname directive"}},
	{"linkname in a function", "func f() {\n\t//go:linkname x y.z\n}", []string{"4: //go:linkname to y.z"}},
	{"embed", "import _ \"embed\"\n\n//go:embed out.txt\nvar out string", []string{"5: embeds a file"}},

	// Imports.
	{"testing", "import \"testing\"\n\nvar _ testing.T", []string{`3: imports "testing", which only test files need`}},
	{"testing blank", `import _ "testing"`, []string{`3: imports "testing"`}},
	{"testing and unsafe", "import (\n\t\"testing\"\n\t\"unsafe\"\n)\n\nvar _ = unsafe.Sizeof(testing.T{})",
		[]string{`4: imports "testing"`, `5: imports "unsafe" together with "testing"`}},
	{"cgo", "// #include <stdlib.h>\nimport \"C\"", []string{`4: uses cgo`}},

	// Ending the process.
	{"os.Exit in a library", "import \"os\"\n\nfunc f() { os.Exit(0) }", []string{"5: uses os.Exit, which ends the test binary before its tests report"}},
	{"os.Exit as a value", "import \"os\"\n\nvar quit = os.Exit", []string{"5: uses os.Exit, which ends the test binary"}},
	{"os.Exit renamed", "import sys \"os\"\n\nfunc f() { sys.Exit(0) }", []string{"5: uses os.Exit"}},
	{"os.Exit dot imported", "import . \"os\"\n\nfunc f() { Exit(0) }", []string{"5: uses os.Exit"}},
	{"os.Exit in init", "import \"os\"\n\nfunc init() { os.Exit(0) }", []string{"5: uses os.Exit while the package initializes, before any test runs"}},
	{"os.Exit in a var initializer", "import \"os\"\n\nvar _ = func() int { os.Exit(0); return 0 }()", []string{"5: uses os.Exit, which ends the test binary"}},
	{"os.Exit in TestMain", "import \"os\"\n\nfunc TestMain() { os.Exit(0) }", []string{"5: uses os.Exit in TestMain"}},
	{"Goexit in init", "import \"runtime\"\n\nfunc init() { runtime.Goexit() }", []string{"5: uses runtime.Goexit while the package initializes"}},
	{"syscall.Exit", "import \"syscall\"\n\nfunc f() { syscall.Exit(0) }", []string{"5: uses syscall.Exit, which ends the process past the test runner's exit check"}},
	{"syscall.Exec", "import \"syscall\"\n\nfunc f() { syscall.Exec(\"/bin/true\", nil, nil) }", []string{"5: uses syscall.Exec, which replaces the test binary with another program"}},
	{"unix.Exit", "import \"golang.org/x/sys/unix\"\n\nfunc f() { unix.Exit(0) }", []string{"5: uses unix.Exit"}},
	{"raw exit syscall", "import \"syscall\"\n\nfunc f() { syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0) }", []string{"5: uses syscall.SYS_EXIT_GROUP"}},
	{"os.Args", "import \"os\"\n\nfunc init() { os.Args = nil; os.Args[1] = \"\" }", []string{"5: changes os.Args"}},

	// What a lab does write, and near misses.
	{"ordinary strings", `var s = []string{"PASSED", "passes", "--- pass", "ok", "FAIL", "open", "half-open", "== RUN"}`, nil},
	{"json of a lab", "var s = `{\"action\":\"put\",\"key\":\"k\"}`", nil},
	{"numbers", `var b = []byte{1, 2, 3}; var n = 22 + 1; var r = string(rune(65))`, nil},
	{"prose about directives", "// go:linkname is not used here.\n/* //go:linkname x y */\nvar x int", nil},
	{"os.Exit in a command", "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(2) }", nil},
	{"Goexit outside init", "import \"runtime\"\n\nfunc f() { runtime.Goexit() }", nil},
	{"a variable named os", "type exiter struct{ Exit func(int) }\n\nfunc f(os exiter) { os.Exit(0) }", nil},
	{"os.Stdout", "import (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc f() { fmt.Fprintln(os.Stdout, \"state:\", 1) }", nil},
	{"unsafe alone", "import \"unsafe\"\n\nvar _ = unsafe.Sizeof(0)", nil},
	{"synctest", "import _ \"testing/synctest\"", nil},
}

func TestScanFindsWhatOnlyForgingNeeds(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := c.body
			if !strings.HasPrefix(src, "package ") {
				src = "package breaker\n\n" + src
			}
			got := lines(Scan("breaker.go", []byte(src)))
			require.Len(t, got, len(c.want), "findings: %q", got)
			for i, w := range c.want {
				line, part, _ := strings.Cut(w, ": ")
				assert.True(t, strings.HasPrefix(got[i], line+": ") && strings.Contains(got[i], part),
					"finding %d: got %q, want line %s and %q", i, got[i], line, part)
			}
		})
	}
}

func TestFindingReadsAsAReviewNote(t *testing.T) {
	fs := Scan("breaker.go", []byte("package breaker\n\nvar s = \"--- PASS: TestAllow\"\n"))
	require.Len(t, fs, 1)
	assert.Equal(t, `breaker.go:3: has a string with test-runner framing ("--- PASS"): a lab never needs this, so it is flagged for review`, fs[0].String())
}

func TestLineDirectivesDoNotMoveAFinding(t *testing.T) {
	src := "package breaker\n\n//line other.go:100\nvar s = \"--- PASS\"\n"
	fs := Scan("breaker.go", []byte(src))
	require.Len(t, fs, 1)
	assert.Equal(t, Finding{File: "breaker.go", Line: 4, What: `has a string with test-runner framing ("--- PASS")`}, fs[0])
}

func TestScanReportsOneFindingPerLineAndKind(t *testing.T) {
	fs := Scan("breaker.go", []byte("package breaker\n\nvar a, b = \"--- PASS\", \"--- PASS: TestX\"\n"))
	assert.Len(t, fs, 1)
}

func TestUnparsableFileHasNoFindings(t *testing.T) {
	assert.Empty(t, Scan("breaker.go", []byte("package breaker\n\nfunc f( { \"--- PASS\" }")))
	assert.Empty(t, Scan("breaker.go", nil))
}

// The stubs and solutions are what honest work looks like; a rule that flags
// them would flag every learner.
func TestStubsAndSolutionsHaveNoFindings(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../../labs/0*/*.go", "../../solutions/*/*.go"} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	require.NotEmpty(t, files, "no lab files found from the package directory")
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Empty(t, lines(Scan(filepath.Base(f), src)), f)
	}
}

// The grader scans whatever the learner wrote, so no input may crash it.
func FuzzScanDoesNotPanic(f *testing.F) {
	for _, c := range cases {
		f.Add("package breaker\n\n" + c.body)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, x := range Scan("breaker.go", []byte(src)) {
			assert.NotEmpty(t, x.What)
		}
	})
}
