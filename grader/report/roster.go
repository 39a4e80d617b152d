package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Entry is one student's report in a roster.
type Entry struct {
	Student string // the report's file name, without .json
	Report  *Report
}

// Load reads the JSON reports in dir, one per student, in name order. A
// file that is not a report of this schema is left out, with why in bad.
func Load(dir string) (entries []Entry, bad []string, err error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%s holds no .json reports (write them with grader grade -student DIR -format json -o NAME.json)", dir)
	}
	slices.Sort(names)
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", filepath.Base(name), err))
			continue
		}
		var r Report
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&r); err != nil || r.Schema != Schema {
			why := fmt.Sprintf("schema %q, not %q", r.Schema, Schema)
			if err != nil {
				why = err.Error()
			}
			bad = append(bad, fmt.Sprintf("%s: not a distlings report (%s)", filepath.Base(name), why))
			continue
		}
		entries = append(entries, Entry{Student: strings.TrimSuffix(filepath.Base(name), ".json"), Report: &r})
	}
	return entries, bad, nil
}

// RosterFormats are the names WriteRoster takes.
var RosterFormats = []string{"text", "csv", "markdown"}

// column is one part of one lab.
type column struct{ lab, part int }

// WriteRoster writes a table of students by lab and part, with their
// totals; a student whose report has warnings is marked, to be looked at
// by hand.
func WriteRoster(w io.Writer, entries []Entry, format string) error {
	var cols []column
	for _, e := range entries {
		for _, lab := range e.Report.Labs {
			for _, p := range lab.Parts {
				if c := (column{lab.Number, p.Number}); !slices.Contains(cols, c) {
					cols = append(cols, c)
				}
			}
		}
	}
	slices.SortFunc(cols, func(a, b column) int {
		if a.lab != b.lab {
			return a.lab - b.lab
		}
		return a.part - b.part
	})
	header := []string{"student"}
	for _, c := range cols {
		header = append(header, fmt.Sprintf("%02d.%d", c.lab, c.part))
	}
	header = append(header, "total", "look at")
	rows := [][]string{header}
	for _, e := range entries {
		row := []string{e.Student}
		for _, c := range cols {
			row = append(row, cell(e.Report, c))
		}
		row = append(row, fmt.Sprintf("%d/%d", e.Report.Score, e.Report.Max))
		look := ""
		if n := len(e.Report.allWarnings()); n > 0 {
			look = fmt.Sprintf("%d warnings", n)
			if n == 1 {
				look = "1 warning"
			}
		}
		rows = append(rows, append(row, look))
	}
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		return cw.Error()
	case "markdown":
		var b strings.Builder
		for i, row := range rows {
			for j := range row {
				row[j] = escape(row[j])
			}
			fmt.Fprintf(&b, "| %s |\n", strings.Join(row, " | "))
			if i == 0 {
				fmt.Fprintf(&b, "|%s\n", strings.Repeat(" --- |", len(row)))
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	case "text":
		widths := make([]int, len(header))
		for _, row := range rows {
			for j, v := range row {
				widths[j] = max(widths[j], len([]rune(v)))
			}
		}
		var b strings.Builder
		for _, row := range rows {
			for j, v := range row {
				fmt.Fprintf(&b, "%-*s", widths[j]+2, v)
			}
			b.WriteString("\n")
		}
		_, err := io.WriteString(w, strings.ReplaceAll(b.String(), "  \n", "\n"))
		return err
	}
	return fmt.Errorf("no roster format %q: the formats are %s", format, strings.Join(RosterFormats, ", "))
}

// cell is a student's points for one part, or "-" if it did not run.
func cell(r *Report, c column) string {
	for _, lab := range r.Labs {
		if lab.Number != c.lab {
			continue
		}
		for _, p := range lab.Parts {
			if p.Number == c.part {
				return fmt.Sprintf("%d/%d", p.Score, p.Max)
			}
		}
	}
	return "-"
}
