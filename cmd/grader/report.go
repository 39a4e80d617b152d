package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/report"
	labrun "github.com/distlings/distlings/grader/run"
	"github.com/distlings/distlings/grader/textout"
)

const reportHelp = `
Runs the labs (every lab without LAB), as grader test does, and writes
their results as a report: for a person (text, markdown), for a CI test
view (junit), for Gradescope (gradescope: its results.json), or as JSON
(json: the schema distlings.report/v1, described in docs/instructors.md).
The runs' progress goes to stderr, the report to stdout or to FILE.

Flags:
  -format F   text, json, junit, gradescope or markdown (default text)
  -o FILE     write the report to FILE instead of stdout
  -no-race    do not use the race detector

Exit status: 0 when the report is written, whatever the tests did (its
content says); 2 for bad usage; 3 when the grader itself failed.
`

func (c *cli) report(args []string) int {
	fs := c.flags("report")
	format := fs.String("format", "text", "text, json, junit, gradescope or markdown")
	out := fs.String("o", "", "write the report to this file instead of stdout")
	noRace := fs.Bool("no-race", false, "do not use the race detector")
	pos, err := parse(fs, args)
	if err != nil {
		return exitUsage
	}
	if !slices.Contains(report.Formats, *format) {
		return c.usageError("report", "-format %s: the formats are %s", *format, strings.Join(report.Formats, ", "))
	}
	g, code := c.open()
	if g == nil {
		return code
	}
	labs := g.Catalog.Labs
	if len(pos) > 0 {
		labs = nil
		for _, name := range pos {
			lab, code := c.lab(g, name)
			if lab == nil {
				return code
			}
			labs = append(labs, lab)
		}
	}
	progress := textout.New(c.stderr)
	var results []*labrun.Result
	for _, lab := range labs {
		if lab.Err != nil {
			c.errOut.Error(fmt.Errorf("lab %s cannot be used: %w", lab.ID(), lab.Err))
			return exitUsage
		}
		results = append(results, c.reportRun(g, lab, progress, *noRace))
		if results[len(results)-1] == nil {
			return exitGrader
		}
		if c.ctx.Err() != nil {
			fmt.Fprintln(c.stderr, "grader: stopped; no report written")
			return exitFail
		}
	}
	var b bytes.Buffer
	if err := report.New(results).WriteTo(&b, *format); err != nil {
		c.errOut.Error(err)
		return exitGrader
	}
	if *out == "" {
		if _, err := c.stdout.Write(b.Bytes()); err != nil {
			return exitGrader
		}
		return exitOK
	}
	if err := writeFileAtomic(*out, b.Bytes()); err != nil {
		c.errOut.Error(fmt.Errorf("the report could not be written: %w", err))
		return exitGrader
	}
	fmt.Fprintf(c.stderr, "wrote %s (%s)\n", *out, *format)
	return exitOK
}

// reportRun runs one lab with its progress on stderr; nil means the grader
// itself failed, and it has said why.
func (c *cli) reportRun(g *grade.Grader, lab *catalog.Lab, progress *textout.Printer, noRace bool) *labrun.Result {
	stream := progress.Stream(lab, false, isTerminal(c.stderr))
	o, err := g.Test(c.ctx, lab, grade.TestOptions{NoRace: noRace, Events: stream.Event})
	if err != nil {
		stream.Close()
		c.stopped(err)
		return nil
	}
	stream.Finish(o)
	return o.Result
}

// writeFileAtomic replaces path with data, or leaves it as it was.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
