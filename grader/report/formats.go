package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jstemmer/go-junit-report/v2/junit"
)

// Formats are the names WriteTo takes.
var Formats = []string{"text", "json", "junit", "gradescope", "markdown"}

// WriteTo writes r in format, one of Formats.
func (r *Report) WriteTo(w io.Writer, format string) error {
	switch format {
	case "text":
		return r.writeText(w)
	case "json":
		return writeJSON(w, r)
	case "junit":
		return r.writeJUnit(w)
	case "gradescope":
		return writeJSON(w, r.gradescope())
	case "markdown":
		return r.writeMarkdown(w)
	}
	return fmt.Errorf("no report format %q: the formats are %s", format, strings.Join(Formats, ", "))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (r *Report) writeText(w io.Writer) error {
	var b strings.Builder
	for _, lab := range r.Labs {
		fmt.Fprintf(&b, "lab %02d %s  %s  %d/%d\n", lab.Number, lab.Slug, lab.Title, lab.Score, lab.Max)
		if !lab.Built {
			b.WriteString("  did not build:\n")
			for _, line := range lab.Build {
				fmt.Fprintf(&b, "    %s\n", line)
			}
		}
		for _, w := range lab.Warnings {
			fmt.Fprintf(&b, "  warning: %s\n", w)
		}
		for _, p := range lab.Parts {
			fmt.Fprintf(&b, "  part %d  %-40s %-12s %d/%d\n", p.Number, p.Title, p.Status, p.Score, p.Max)
			for _, t := range p.Tests {
				if !t.Passed() {
					fmt.Fprintf(&b, "    ✗ %s (%s)\n", t.Name, t.Status)
				}
			}
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	fmt.Fprintf(&b, "%d/%d points\n", r.Score, r.Max)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeJUnit writes one testsuite per lab and one testcase per test, its
// part in the classname and the suite's properties.
func (r *Report) writeJUnit(w io.Writer) error {
	var suites junit.Testsuites
	for _, lab := range r.Labs {
		suite := junit.Testsuite{Name: fmt.Sprintf("%02d-%s", lab.Number, lab.Slug), Time: fmt.Sprintf("%.3f", lab.Seconds)}
		suite.AddProperty("score", fmt.Sprintf("%d/%d", lab.Score, lab.Max))
		for i, w := range append(slices.Clone(r.Warnings), lab.Warnings...) {
			suite.AddProperty(fmt.Sprintf("warning %d", i+1), w)
		}
		if !lab.Built {
			suite.AddTestcase(junit.Testcase{Name: "build", Classname: suite.Name,
				Error: &junit.Result{Message: "the lab did not build", Data: strings.Join(lab.Build, "\n")}})
		}
		for _, p := range lab.Parts {
			suite.AddProperty(fmt.Sprintf("part %d", p.Number), fmt.Sprintf("%s: %s, %d/%d", p.Title, p.Status, p.Score, p.Max))
			for _, t := range p.Tests {
				tc := junit.Testcase{Name: t.Name, Classname: fmt.Sprintf("%s.part%d", suite.Name, p.Number),
					Time: fmt.Sprintf("%.3f", t.Seconds), Status: t.Status}
				switch {
				case t.Passed():
				case t.Status == "skipped":
					tc.Skipped = &junit.Result{Message: "skipped: a skipped test does not count as passed"}
				case t.Status == "failed":
					tc.Failure = &junit.Result{Message: firstLine(t.Message), Data: t.Message}
				default:
					tc.Error = &junit.Result{Message: t.Status + ": " + firstLine(p.Note), Data: t.Message}
				}
				suite.AddTestcase(tc)
			}
		}
		suites.AddSuite(suite)
	}
	return suites.WriteXML(w)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// gradescopeResults is Gradescope's results.json: a test per part, since
// points are earned per part.
type gradescopeResults struct {
	Score         float64          `json:"score"`
	ExecutionTime float64          `json:"execution_time"`
	Output        string           `json:"output"`
	Visibility    string           `json:"visibility"`
	Tests         []gradescopeTest `json:"tests"`
}

type gradescopeTest struct {
	Name       string  `json:"name"`
	Number     string  `json:"number"`
	Score      float64 `json:"score"`
	MaxScore   float64 `json:"max_score"`
	Status     string  `json:"status"` // passed or failed
	Output     string  `json:"output"`
	Visibility string  `json:"visibility"`
}

func (r *Report) gradescope() gradescopeResults {
	g := gradescopeResults{Score: float64(r.Score), Visibility: "visible", Tests: []gradescopeTest{},
		Output: fmt.Sprintf("%d/%d points", r.Score, r.Max)}
	for _, w := range r.allWarnings() {
		g.Output += "\nwarning: " + w
	}
	for _, lab := range r.Labs {
		g.ExecutionTime += lab.Seconds
		for _, p := range lab.Parts {
			t := gradescopeTest{
				Name:     fmt.Sprintf("lab %02d %s, part %d: %s", lab.Number, lab.Slug, p.Number, p.Title),
				Number:   fmt.Sprintf("%d.%d", lab.Number, p.Number),
				Score:    float64(p.Score),
				MaxScore: float64(p.Max), Status: "failed", Visibility: "visible",
			}
			if p.Passed() {
				t.Status = "passed"
			}
			t.Output = partOutput(lab, p)
			g.Tests = append(g.Tests, t)
		}
	}
	return g
}

// partOutput is what a student reads of a part on a course platform: the
// tests that did not pass, with their messages.
func partOutput(lab Lab, p Part) string {
	var b strings.Builder
	if !lab.Built {
		b.WriteString("the lab did not build:\n" + strings.Join(lab.Build, "\n") + "\n")
	}
	if p.Note != "" {
		b.WriteString(p.Note + "\n")
	}
	for _, t := range p.Tests {
		if t.Passed() {
			continue
		}
		fmt.Fprintf(&b, "✗ %s (%s)\n", t.Name, t.Status)
		if t.Message != "" {
			b.WriteString(t.Message + "\n")
		}
	}
	return b.String()
}

// writeMarkdown writes a summary fit for $GITHUB_STEP_SUMMARY.
func (r *Report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## distlings: %d/%d points\n\n", r.Score, r.Max)
	if ws := r.allWarnings(); len(ws) > 0 {
		b.WriteString("Look at by hand:\n\n")
		for _, w := range ws {
			fmt.Fprintf(&b, "- ⚠️ %s\n", w)
		}
		b.WriteString("\n")
	}
	b.WriteString("| lab | part | | status | points |\n| --- | --- | --- | --- | --- |\n")
	for _, lab := range r.Labs {
		if !lab.Built {
			fmt.Fprintf(&b, "| %02d %s | | | did not build | 0/%d |\n", lab.Number, lab.Slug, lab.Max)
			continue
		}
		for _, p := range lab.Parts {
			mark := "❌"
			if p.Passed() {
				mark = "✅"
			}
			fmt.Fprintf(&b, "| %02d %s | %d | %s | %s %s | %d/%d |\n", lab.Number, lab.Slug, p.Number, escape(p.Title), mark, p.Status, p.Score, p.Max)
		}
	}
	for _, lab := range r.Labs {
		for _, p := range lab.Parts {
			for _, t := range p.Tests {
				if t.Passed() {
					continue
				}
				fmt.Fprintf(&b, "\n<details><summary>%02d %s part %d: %s (%s)</summary>\n\n```\n%s\n```\n</details>\n",
					lab.Number, lab.Slug, p.Number, t.Name, t.Status, strings.ReplaceAll(t.Message, "```", "'''"))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// allWarnings is the copy's warnings, then each lab's, named by lab.
func (r *Report) allWarnings() []string {
	out := slices.Clone(r.Warnings)
	for _, lab := range r.Labs {
		for _, w := range lab.Warnings {
			out = append(out, fmt.Sprintf("lab %02d: %s", lab.Number, w))
		}
	}
	return out
}
