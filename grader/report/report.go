// Package report turns the grader's runs into reports for people and for
// course platforms: a versioned JSON document, JUnit XML for CI test
// views, Gradescope's results.json, a Markdown summary and plain text.
// Points come only from the runs it is given.
package report

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/distlings/distlings/grader/run"
)

// Schema names the version of the JSON report; it changes when a field
// changes meaning or goes away, not when one is added.
const Schema = "distlings.report/v1"

// Report is every lab that ran.
type Report struct {
	Schema string `json:"schema"`
	Score  int    `json:"score"`     // points earned, over all labs
	Max    int    `json:"max_score"` // points the labs that ran are worth
	Labs   []Lab  `json:"labs"`
	// Warnings are what an instructor should look at by hand, about the
	// whole copy: a progress file that was not read, a changed shipped
	// copy.
	Warnings []string `json:"warnings,omitempty"`
}

// Lab is one lab's run.
type Lab struct {
	Number  int      `json:"number"`
	Slug    string   `json:"slug"`
	Title   string   `json:"title"`
	Score   int      `json:"score"`
	Max     int      `json:"max_score"`
	Built   bool     `json:"built"`
	Build   []string `json:"build_output,omitempty"` // compiler and vet messages when it did not build
	Seconds float64  `json:"seconds"`
	Parts   []Part   `json:"parts"`
	// Warnings are about the lab's files: tests or manifests that differ
	// from the release (graded with the release's), files that are not
	// graded, stub code flagged for review.
	Warnings []string `json:"warnings,omitempty"`
}

// Part is one part of a lab: its points are earned when every one of its
// tests passed.
type Part struct {
	Number  int     `json:"number"`
	Title   string  `json:"title"`
	Status  string  `json:"status"` // passed, failed, crashed, timed out, did not build, not run
	Score   int     `json:"score"`
	Max     int     `json:"max_score"`
	Seconds float64 `json:"seconds"`
	Note    string  `json:"note,omitempty"` // why it crashed or timed out
	Race    bool    `json:"race"`           // ran under the race detector
	Tests   []Test  `json:"tests"`
}

// Test is one test function of a part.
type Test struct {
	Name    string  `json:"name"`
	Status  string  `json:"status"` // passed, failed, skipped, did not finish, not run, not defined
	Seconds float64 `json:"seconds"`
	// Message is what the test printed when it did not pass: expected,
	// got, and the rule.
	Message string `json:"message,omitempty"`
	// Seed and Replay are those of a randomized test that failed: the
	// commands that run it again exactly.
	Seed   uint64   `json:"seed,omitempty"`
	Replay []string `json:"replay,omitempty"`
}

// Passed reports whether the test passed.
func (t Test) Passed() bool { return t.Status == run.TestPassed.String() }

// Passed reports whether the part earned its points.
func (p Part) Passed() bool { return p.Status == run.Passed.String() }

// New builds a report from the results of runs, one per lab.
func New(results []*run.Result) *Report {
	r := &Report{Schema: Schema, Labs: []Lab{}}
	for _, res := range results {
		lab := Lab{Number: res.Lab.Number, Slug: res.Lab.Slug, Title: res.Lab.Title,
			Built: res.Build.OK, Seconds: seconds(res.Elapsed), Parts: []Part{}}
		if !res.Build.OK {
			lab.Build = res.Build.Output
		}
		for _, pr := range res.Parts {
			part := Part{Number: pr.Part.Number, Title: pr.Part.Title, Status: pr.Status.String(),
				Max: pr.Part.Points, Seconds: seconds(pr.Elapsed), Note: pr.Note, Race: pr.Race, Tests: []Test{}}
			if pr.Status == run.Passed {
				part.Score = pr.Part.Points
			}
			for _, tr := range pr.Tests {
				test := Test{Name: tr.Name, Status: tr.Status.String(), Seconds: seconds(tr.Elapsed)}
				if tr.Status != run.TestPassed {
					test.Message = strings.Join(tr.Output, "\n")
					test.Seed, test.Replay = replay(tr.Output)
				}
				part.Tests = append(part.Tests, test)
			}
			lab.Score += part.Score
			lab.Max += part.Max
			lab.Parts = append(lab.Parts, part)
		}
		r.Score += lab.Score
		r.Max += lab.Max
		r.Labs = append(r.Labs, lab)
	}
	return r
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

// seedLine is how labs/internal/seeds announces a failing seed, followed
// by its replay commands, one per indented line.
var seedLine = regexp.MustCompile(`seed (\d+); replay with:`)

// replay finds a failing test's seed and the commands that replay it.
func replay(output []string) (uint64, []string) {
	for i, line := range output {
		m := seedLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		seed, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			continue
		}
		var cmds []string
		for _, next := range output[i+1:] {
			cmd := strings.TrimSpace(next)
			if !strings.HasPrefix(cmd, "grader test ") && !strings.HasPrefix(cmd, "go test ") {
				break
			}
			cmds = append(cmds, cmd)
		}
		return seed, cmds
	}
	return 0, nil
}
