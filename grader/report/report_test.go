package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/report"
	"github.com/distlings/distlings/grader/run"
)

// twoParts is a lab run whose first part passed and whose second failed a
// randomized test.
func twoParts() []*run.Result {
	p1 := &catalog.Part{Number: 1, Title: "One key, one charge", Points: 15}
	p2 := &catalog.Part{Number: 2, Title: "Duplicates | together", Points: 20}
	lab := &catalog.Lab{Number: 1, Slug: "idempotency", Manifest: &catalog.Manifest{Title: "Idempotency", Parts: []*catalog.Part{p1, p2}}}
	return []*run.Result{{
		Lab:     lab,
		Build:   run.Build{OK: true},
		Elapsed: 2500 * time.Millisecond,
		Parts: []*run.PartResult{
			{Part: p1, Status: run.Passed, Elapsed: time.Second, Tests: []*run.TestResult{{Name: "TestA", Status: run.TestPassed, Elapsed: 10 * time.Millisecond}}},
			{Part: p2, Status: run.Failed, Elapsed: time.Second, Race: true, Tests: []*run.TestResult{
				{Name: "TestB", Status: run.TestPassed},
				{Name: "TestC", Status: run.TestFailed, Output: []string{
					"cluster_test.go:16: two leaders in term 3",
					"rule: a node votes once per term",
					"seed 830589; replay with:",
					"    grader test 01 -seed 830589",
					"    go test ./labs/01-idempotency -run '^TestC$' -seed 830589",
				}},
			}},
		},
	}}
}

func TestPointsComeFromPartsThatPassed(t *testing.T) {
	r := report.New(twoParts())
	assert.Equal(t, report.Schema, r.Schema)
	assert.Equal(t, 15, r.Score)
	assert.Equal(t, 35, r.Max)
	require.Len(t, r.Labs, 1)
	c := r.Labs[0].Parts[1].Tests[1]
	assert.Equal(t, "failed", c.Status)
	assert.Equal(t, uint64(830589), c.Seed, "the seed of a failing randomized test")
	assert.Equal(t, []string{"grader test 01 -seed 830589", "go test ./labs/01-idempotency -run '^TestC$' -seed 830589"}, c.Replay)
	assert.Contains(t, c.Message, "rule: a node votes once per term")
	assert.Empty(t, r.Labs[0].Parts[0].Tests[0].Message, "a passing test has no message")
}

func TestJSONRoundTrips(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, report.New(twoParts()).WriteTo(&b, "json"))
	var back report.Report
	require.NoError(t, json.Unmarshal(b.Bytes(), &back))
	assert.Equal(t, *report.New(twoParts()), back)
	assert.Contains(t, b.String(), `"schema": "distlings.report/v1"`)
}

func TestJUnitHasASuitePerLabAndACasePerTest(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, report.New(twoParts()).WriteTo(&b, "junit"))
	var doc struct {
		Suites []struct {
			Name       string `xml:"name,attr"`
			Tests      int    `xml:"tests,attr"`
			Failures   int    `xml:"failures,attr"`
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Data    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(b.Bytes(), &doc), b.String())
	require.Len(t, doc.Suites, 1)
	s := doc.Suites[0]
	assert.Equal(t, "01-idempotency", s.Name)
	assert.Equal(t, 3, s.Tests)
	assert.Equal(t, 1, s.Failures)
	assert.Contains(t, s.Properties, struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}{"part 2", "Duplicates | together: failed, 0/20"})
	require.Len(t, s.Cases, 3)
	assert.Equal(t, "01-idempotency.part2", s.Cases[2].Classname)
	require.NotNil(t, s.Cases[2].Failure)
	assert.Equal(t, "cluster_test.go:16: two leaders in term 3", s.Cases[2].Failure.Message)
	assert.Contains(t, s.Cases[2].Failure.Data, "replay with:")
}

// The fields of Gradescope's autograder results.json, as its spec lists
// them: what the platform reads, and the only keys it accepts.
var gradescopeTop = map[string]bool{"score": true, "execution_time": true, "output": true, "output_format": true,
	"test_output_format": true, "test_name_format": true, "visibility": true, "stdout_visibility": true,
	"extra_data": true, "tests": true, "leaderboard": true}
var gradescopeTestKeys = map[string]bool{"score": true, "max_score": true, "status": true, "name": true,
	"name_format": true, "number": true, "output": true, "output_format": true, "tags": true,
	"visibility": true, "extra_data": true}
var gradescopeVisibility = map[string]bool{"hidden": true, "after_due_date": true, "after_published": true, "visible": true}

func TestGradescopeResultsFollowTheSpec(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, report.New(twoParts()).WriteTo(&b, "gradescope"))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	for k := range doc {
		assert.True(t, gradescopeTop[k], "results.json has a key Gradescope does not know: %q", k)
	}
	assert.Equal(t, 15.0, doc["score"])
	assert.True(t, gradescopeVisibility[doc["visibility"].(string)])
	tests := doc["tests"].([]any)
	require.Len(t, tests, 2, "one Gradescope test per part: points are earned per part")
	sum := 0.0
	for _, raw := range tests {
		test := raw.(map[string]any)
		for k := range test {
			assert.True(t, gradescopeTestKeys[k], "a test has a key Gradescope does not know: %q", k)
		}
		for _, k := range []string{"name", "score", "max_score", "status", "output", "visibility"} {
			assert.Contains(t, test, k)
		}
		assert.Contains(t, []any{"passed", "failed"}, test["status"])
		assert.True(t, gradescopeVisibility[test["visibility"].(string)])
		sum += test["score"].(float64)
	}
	assert.Equal(t, doc["score"], sum, "the score is the sum of the tests' scores")
	failed := tests[1].(map[string]any)
	assert.Equal(t, "failed", failed["status"])
	assert.Contains(t, failed["output"], "✗ TestC (failed)")
	assert.Contains(t, failed["output"], "rule: a node votes once per term")
}

func TestMarkdownIsATableAndTheFailures(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, report.New(twoParts()).WriteTo(&b, "markdown"))
	md := b.String()
	assert.Contains(t, md, "## distlings: 15/35 points")
	assert.Contains(t, md, "| 01 idempotency | 1 | One key, one charge | ✅ passed | 15/15 |")
	assert.Contains(t, md, `| 01 idempotency | 2 | Duplicates \| together | ❌ failed | 0/20 |`, "a | in a title is escaped")
	assert.Contains(t, md, "<details><summary>01 idempotency part 2: TestC (failed)</summary>")
}

func TestALabThatDidNotBuildEarnsNothingAndSaysWhy(t *testing.T) {
	res := twoParts()
	res[0].Build = run.Build{OK: false, Output: []string{"service.go:12:2: undefined: x"}}
	for _, p := range res[0].Parts {
		p.Status = run.BuildFailed
	}
	r := report.New(res)
	assert.Equal(t, 0, r.Score)
	var b bytes.Buffer
	require.NoError(t, r.WriteTo(&b, "gradescope"))
	assert.Contains(t, b.String(), "service.go:12:2: undefined: x")
	b.Reset()
	require.NoError(t, r.WriteTo(&b, "text"))
	assert.True(t, strings.Contains(b.String(), "did not build") && strings.Contains(b.String(), "0/35 points"), b.String())
}

func TestAnUnknownFormatIsAnError(t *testing.T) {
	err := report.New(twoParts()).WriteTo(&bytes.Buffer{}, "pdf")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the formats are text, json, junit, gradescope, markdown")
}
