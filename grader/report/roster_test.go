package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/report"
)

func writeReport(t *testing.T, dir, student string, warn bool) {
	t.Helper()
	r := report.New(twoParts())
	if warn {
		r.Labs[0].Warnings = []string{"labs/01-idempotency/lab.toml differs from the release"}
	}
	var b bytes.Buffer
	require.NoError(t, r.WriteTo(&b, "json"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, student+".json"), b.Bytes(), 0o644))
}

func TestARosterIsAStudentPerRowAndAPartPerColumn(t *testing.T) {
	dir := t.TempDir()
	writeReport(t, dir, "bob", true)
	writeReport(t, dir, "alice", false)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.json"), []byte(`{"hello": 1}`), 0o644))
	entries, bad, err := report.Load(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "alice", entries[0].Student, "students in name order")
	require.Len(t, bad, 1)
	assert.Contains(t, bad[0], "notes.json: not a distlings report")

	var b bytes.Buffer
	require.NoError(t, report.WriteRoster(&b, entries, "csv"))
	assert.Equal(t, "student,01.1,01.2,total,look at\nalice,15/15,0/20,15/35,\nbob,15/15,0/20,15/35,1 warning\n", b.String())
	b.Reset()
	require.NoError(t, report.WriteRoster(&b, entries, "markdown"))
	assert.Contains(t, b.String(), "| bob | 15/15 | 0/20 | 15/35 | 1 warning |")
	b.Reset()
	require.NoError(t, report.WriteRoster(&b, entries, "text"))
	assert.Contains(t, b.String(), "alice    15/15  0/20  15/35")
}

func TestAFolderWithoutReportsIsAClearError(t *testing.T) {
	_, _, err := report.Load(t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "holds no .json reports")
}
