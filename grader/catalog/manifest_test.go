package catalog_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/catalog"
)

const manifestRel = "labs/01-alpha/lab.toml"

// validManifest is a manifest that passes every check; the cases below break
// it one field at a time.
const validManifest = `
title = "Alpha"
tagline = "  The first lab  "
stubs = ["a.go", "b.go"]
timeout = "90s"
race = true
race_reason = "the learner's goroutines share state"

[[part]]
title = "First"
points = 10
tests = ["TestOne", "TestTwo"]
hints = ["look", "look harder"]

[[part]]
title = "Second"
points = 5
file = "b.go"
timeout = "5s"
race = false
race_reason = "one goroutine"
tests = ["Test", "Test_3", "TestX"]
hints = ["think"]
`

// stubDir is a lab folder holding the stubs validManifest names.
func stubDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"a.go", "b.go", "a_test.go"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("package alpha\n"), 0o644))
	}
	return dir
}

func TestValidManifestIsParsedWithDefaults(t *testing.T) {
	m, err := catalog.ParseManifest([]byte(validManifest), stubDir(t), manifestRel)
	require.NoError(t, err)

	assert.Equal(t, "Alpha", m.Title)
	assert.Equal(t, "The first lab", m.Tagline, "tagline is trimmed")
	assert.Equal(t, []string{"a.go", "b.go"}, m.Stubs)
	assert.Equal(t, 90*time.Second, m.Timeout)
	assert.True(t, m.Race)
	assert.Equal(t, "the learner's goroutines share state", m.RaceReason)
	require.Len(t, m.Parts, 2)
	assert.Equal(t, 15, m.Points())

	p1 := m.Part(1)
	require.NotNil(t, p1)
	assert.Equal(t, 1, p1.Number)
	assert.Equal(t, "First", p1.Title)
	assert.Equal(t, 10, p1.Points)
	assert.Equal(t, []string{"TestOne", "TestTwo"}, p1.Tests)
	assert.Equal(t, []string{"look", "look harder"}, p1.Hints)
	assert.Equal(t, 90*time.Second, p1.Timeout, "a part inherits the lab's timeout")
	assert.Equal(t, "a.go", p1.File, "a part without file is written in the first stub")
	assert.True(t, p1.Race, "a part inherits the lab's race setting")
	assert.Equal(t, "the learner's goroutines share state", p1.RaceReason)

	p2 := m.Part(2)
	require.NotNil(t, p2)
	assert.Equal(t, 2, p2.Number)
	assert.Equal(t, 5*time.Second, p2.Timeout)
	assert.Equal(t, "b.go", p2.File)
	assert.False(t, p2.Race, "a part may override the race setting")
	assert.Equal(t, "one goroutine", p2.RaceReason)

	assert.Nil(t, m.Part(0))
	assert.Nil(t, m.Part(3))
}

func TestManifestWithoutTimeoutUsesDefault(t *testing.T) {
	text := strings.Replace(validManifest, `timeout = "90s"`, "", 1)
	m, err := catalog.ParseManifest([]byte(text), stubDir(t), manifestRel)
	require.NoError(t, err)
	assert.Equal(t, catalog.DefaultTimeout, m.Timeout)
	assert.Equal(t, catalog.DefaultTimeout, m.Part(1).Timeout)
	assert.Equal(t, 5*time.Second, m.Part(2).Timeout)
}

func TestBrokenManifestIsReportedWithFileAndField(t *testing.T) {
	cases := []struct {
		name    string
		old     string // replaced in validManifest
		new     string
		field   string
		message string // a part of the message
	}{
		{"syntax error", `race = true`, `race = `, "", "line 6"},
		{"wrong type", `points = 10`, `points = 1.5`, "", "points"},
		{"unknown top-level field", `race = true`, "race = true\nrcae = false", "rcae", "unknown field"},
		{"unknown part field", `points = 10`, "points = 10\nscore = 3", "part 1: score", "unknown field"},
		{"missing title", `title = "Alpha"`, ``, "title", "missing"},
		{"blank title", `title = "Alpha"`, `title = "   "`, "title", "missing"},
		{"bad timeout", `timeout = "90s"`, `timeout = "soon"`, "timeout", `"soon" is not a positive duration`},
		{"negative timeout", `timeout = "90s"`, `timeout = "-1s"`, "timeout", "not a positive duration"},
		{"zero timeout", `timeout = "90s"`, `timeout = "0s"`, "timeout", "not a positive duration"},
		{"no stubs", `stubs = ["a.go", "b.go"]`, `stubs = []`, "stubs", "missing"},
		{"stub in a subfolder", `stubs = ["a.go", "b.go"]`, `stubs = ["sub/a.go"]`, "stubs", "not a non-test .go file"},
		{"stub is a test", `stubs = ["a.go", "b.go"]`, `stubs = ["a_test.go"]`, "stubs", "not a non-test .go file"},
		{"stub is not go", `stubs = ["a.go", "b.go"]`, `stubs = ["README.md"]`, "stubs", "not a non-test .go file"},
		{"stub listed twice", `stubs = ["a.go", "b.go"]`, `stubs = ["a.go", "a.go"]`, "stubs", "listed twice"},
		{"stub does not exist", `stubs = ["a.go", "b.go"]`, `stubs = ["a.go", "c.go"]`, "stubs", `"c.go" does not exist`},
		{"part without title", `title = "First"`, ``, "part 1: title", "missing"},
		{"zero points", `points = 10`, `points = 0`, "part 1: points", "got 0"},
		{"negative points", `points = 5`, `points = -5`, "part 2: points", "got -5"},
		{"part without tests", `tests = ["TestOne", "TestTwo"]`, `tests = []`, "part 1: tests", "at least one test"},
		{"part without tests key", `tests = ["TestOne", "TestTwo"]`, ``, "part 1: tests", "at least one test"},
		{"lower-case test name", `"TestTwo"`, `"Testtwo"`, "part 1: tests", `"Testtwo" is not the name`},
		{"not a test name", `"TestTwo"`, `"BenchmarkTwo"`, "part 1: tests", "not the name of a Go test"},
		{"test in two parts", `"TestX"`, `"TestOne"`, "part 2: tests", "TestOne already belongs to part 1"},
		{"bad part timeout", `timeout = "5s"`, `timeout = "5"`, "part 2: timeout", "not a positive duration"},
		{"empty hint", `["look", "look harder"]`, `["look", "  "]`, "part 1: hints", "hint 2 is empty"},
		{"no hints", `hints = ["think"]`, `hints = []`, "part 2: hints", "at least one hint"},
		{"race without a reason", "race_reason = \"the learner's goroutines share state\"\n", "", "race_reason", "say why the race detector is on or off"},
		{"a reason without race", "race = true\n", "", "race_reason", "given without race"},
		{"part race without a reason", "race_reason = \"one goroutine\"\n", "", "part 2: race_reason", "a part that sets race says why"},
		{"part reason without race", "race = false\n", "", "part 2: race_reason", "given without race"},
		{"file not a stub", `file = "b.go"`, `file = "c.go"`, "part 2: file", `"c.go" is not one of the stubs`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, validManifest, tc.old)
			text := strings.Replace(validManifest, tc.old, tc.new, 1)
			m, err := catalog.ParseManifest([]byte(text), stubDir(t), manifestRel)
			assert.Nil(t, m)
			var merr *catalog.ManifestError
			require.ErrorAs(t, err, &merr)
			assert.Equal(t, manifestRel, merr.File)
			assert.Equal(t, tc.field, merr.Field)
			assert.Contains(t, merr.Msg, tc.message)
		})
	}
}

func TestManifestWithoutPartsIsRejected(t *testing.T) {
	text := validManifest[:strings.Index(validManifest, "[[part]]")]
	_, err := catalog.ParseManifest([]byte(text), stubDir(t), manifestRel)
	var merr *catalog.ManifestError
	require.ErrorAs(t, err, &merr)
	assert.Equal(t, "part", merr.Field)
	assert.Contains(t, merr.Msg, "at least one [[part]]")
}

func TestManifestErrorNamesFileAndField(t *testing.T) {
	withField := &catalog.ManifestError{File: "labs/01-a/lab.toml", Field: "part 2: points", Msg: "must be positive"}
	assert.Equal(t, "labs/01-a/lab.toml: part 2: points: must be positive", withField.Error())
	noField := &catalog.ManifestError{File: "labs/01-a/lab.toml", Msg: "line 3: bad"}
	assert.Equal(t, "labs/01-a/lab.toml: line 3: bad", noField.Error())
}

func TestReadManifestReportsMissingFile(t *testing.T) {
	m, err := catalog.ReadManifest(t.TempDir(), manifestRel)
	assert.Nil(t, m)
	var merr *catalog.ManifestError
	require.ErrorAs(t, err, &merr)
	assert.Equal(t, manifestRel, merr.File)
	assert.Empty(t, merr.Field)
	assert.Contains(t, merr.Msg, "missing")
	assert.Contains(t, merr.Msg, catalog.ManifestFile)
}

func TestReadManifestReadsLabToml(t *testing.T) {
	dir := stubDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, catalog.ManifestFile), []byte(validManifest), 0o644))
	m, err := catalog.ReadManifest(dir, manifestRel)
	require.NoError(t, err)
	assert.Equal(t, "Alpha", m.Title)
	assert.Len(t, m.Parts, 2)
}
