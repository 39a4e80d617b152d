package verify

import (
	"bufio"
	"bytes"
	"fmt"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// Wrong is a wrong-solution fixture: a plausible mistake, written as a patch
// against the reference solution, and the part whose tests must catch it.
//
// The file solutions/NN-name/wrong/NAME.patch starts with headers, then a
// unified diff whose paths are relative to solutions/NN-name:
//
//	Mistake: what a learner got wrong, in a sentence or two
//	Part: 3
//	Caught-By: TestCrashAtAnyStepChargesOnce
//
// A fixture's tests run without the race detector, even in a lab that runs
// with it: a data race that is the mistake must also show by its effect,
// for learners whose machine has no cgo. Race-Detector: on runs them with
// it, for a mistake that only the detector can see.
//
//	--- a/service.go
//	+++ b/service.go
//	@@ ...
type Wrong struct {
	Name     string // file name without .patch
	Path     string
	Mistake  string
	Part     int
	CaughtBy []string // tests that must fail; empty means any test of Part
	Race     bool     // caught only with the race detector (Race-Detector: on)
	Offset   bool     // Apply found a change a few lines from where the patch says
	files    []*gitdiff.File
	git      bool // git diffs name files without the a/ and b/ prefixes
}

// LoadWrong reads every wrong-solution fixture of a lab's solutions folder.
func LoadWrong(solutionDir string) ([]*Wrong, error) {
	matches, err := filepath.Glob(filepath.Join(solutionDir, "wrong", "*.patch"))
	if err != nil {
		return nil, err
	}
	var out []*Wrong
	for _, m := range matches {
		w, err := readWrong(m)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

func readWrong(path string) (*Wrong, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// Errors name the file as solutions/NN-name/wrong/NAME.patch.
	shown := filepath.Join(filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(path)))),
		filepath.Base(filepath.Dir(filepath.Dir(path))), "wrong", filepath.Base(path))
	files, preamble, err := gitdiff.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no diff after the headers", shown)
	}
	hdr, err := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.TrimSpace(preamble) + "\n\n"))).ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("%s: headers: %w", shown, err)
	}
	w := &Wrong{
		Name:    strings.TrimSuffix(filepath.Base(path), ".patch"),
		Path:    path,
		Mistake: strings.Join(strings.Fields(hdr.Get("Mistake")), " "),
		files:   files,
		git:     bytes.Contains(data, []byte("\ndiff --git ")) || bytes.HasPrefix(data, []byte("diff --git ")),
	}
	if w.Mistake == "" {
		return nil, fmt.Errorf("%s: no Mistake: header saying what the learner got wrong", shown)
	}
	if w.Part, err = strconv.Atoi(strings.TrimSpace(hdr.Get("Part"))); err != nil || w.Part < 1 {
		return nil, fmt.Errorf("%s: Part: header must be the number of the part that catches it", shown)
	}
	w.CaughtBy = strings.FieldsFunc(hdr.Get("Caught-By"), func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	switch rd := strings.TrimSpace(hdr.Get("Race-Detector")); rd {
	case "", "off":
	case "on":
		w.Race = true
	default:
		return nil, fmt.Errorf("%s: Race-Detector: %q: on or off", shown, rd)
	}
	return w, nil
}

// Apply writes the patched solution files into dir and returns them by file
// name (relative to the solution folder).
func (w *Wrong) Apply(solutionDir, dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range w.files {
		if f.IsDelete || f.IsRename || f.IsCopy {
			return nil, fmt.Errorf("%s: a fixture may change or add files, not delete, rename or copy them", filepath.Base(w.Path))
		}
		// Plain unified diffs keep their a/ and b/ prefixes; git diffs do not.
		name := f.NewName
		if !w.git {
			name = strings.TrimPrefix(name, "b/")
		}
		if name == "" {
			return nil, fmt.Errorf("%s: a diff without a file name", filepath.Base(w.Path))
		}
		var src []byte
		if !f.IsNew {
			var err error
			if src, err = os.ReadFile(filepath.Join(solutionDir, name)); err != nil {
				return nil, fmt.Errorf("%s changes %s, which the solution does not have", filepath.Base(w.Path), name)
			}
		}
		var buf bytes.Buffer
		err := gitdiff.Apply(&buf, bytes.NewReader(src), f)
		if err != nil && relocate(f, src) {
			buf.Reset()
			if err = gitdiff.Apply(&buf, bytes.NewReader(src), f); err == nil {
				w.Offset = true
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s no longer applies to %s (was the solution changed?): %w", filepath.Base(w.Path), name, err)
		}
		dst := filepath.Join(dir, w.Name+"."+strings.ReplaceAll(name, "/", "_"))
		if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		out[name] = dst
	}
	return out, nil
}
