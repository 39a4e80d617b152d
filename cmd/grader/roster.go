package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/distlings/distlings/grader/report"
)

const rosterHelp = `
Reads a folder of JSON reports, one per student (NAME.json, written with
grader grade -student DIR -format json -o NAME.json), and prints a table:
a row per student, a column per lab and part, the total, and how many
warnings each report has (files to look at by hand).

Flags:
  -format F   text, csv or markdown (default text)

Exit status: 0 when every file was read; 1 when some were left out (each
is named on stderr); 2 for bad usage.
`

func (c *cli) roster(args []string) int {
	fs := c.flags("roster")
	format := fs.String("format", "text", "text, csv or markdown")
	pos, err := parse(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		return c.usageError("roster", "name the folder of reports, e.g. grader roster reports/")
	}
	if !slices.Contains(report.RosterFormats, *format) {
		return c.usageError("roster", "-format %s: the formats are %s", *format, strings.Join(report.RosterFormats, ", "))
	}
	entries, bad, err := report.Load(pos[0])
	if err != nil {
		c.errOut.Error(err)
		return exitUsage
	}
	if err := report.WriteRoster(c.stdout, entries, *format); err != nil {
		c.errOut.Error(err)
		return exitGrader
	}
	for _, b := range bad {
		fmt.Fprintf(c.stderr, "grader roster: %s; left out\n", b)
	}
	if len(bad) > 0 {
		return exitFail
	}
	return exitOK
}
