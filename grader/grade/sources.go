package grade

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/forgery"
	"github.com/distlings/distlings/grader/run"
	"github.com/distlings/distlings/grader/shipped"
)

// sources is what a graded build of a lab compiles: the shipped module
// files (go.mod, go.sum, the kits), the lab's shipped tests and helpers,
// and the learner's stubs. Nothing else in the lab folder is compiled, so a
// file added there can neither forge a result nor change one.
type sources struct {
	files map[string][]byte // by slash path from the workbook root
	// What the files were chosen from, for review: the shipped module
	// and lab files, and the lab's Go files on disk.
	module, labFiles, disk map[string][]byte

	// Filled by review, for a run: what the learner should know (edited
	// tests, extra files), and the findings of what the learner's files
	// hold that only forging a grade needs (flagged, not refused). exits
	// are those in compiled files that end the process: where an early
	// exit comes from.
	notices  []string
	findings []forgery.Finding
	exits    []forgery.Finding
}

// gradedSources reads what a graded build of lab compiles. It wraps
// shipped.ErrNoArchive when the workbook has no shipped copy to build from.
func (g *Grader) gradedSources(lab *catalog.Lab) (*sources, error) {
	module, err := shipped.ModuleFiles(g.Workbook)
	if err != nil {
		return nil, err
	}
	labFiles, err := shipped.Files(g.Workbook, lab)
	if err != nil {
		return nil, err
	}
	disk, err := shipped.OnDisk(lab)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", lab.RelDir, err)
	}
	src := &sources{files: map[string][]byte{}, module: module, labFiles: labFiles, disk: disk}
	for name, data := range module {
		src.files[name] = data
	}
	for name, data := range labFiles {
		if !slices.Contains(lab.Stubs, name) {
			src.files[labPath(lab, name)] = data
		}
	}
	for _, name := range lab.Stubs {
		data, ok := disk[name]
		if !ok {
			data = labFiles[name] // reported by review
		}
		src.files[labPath(lab, name)] = data
	}
	return src, nil
}

// labPath is a lab file's slash path from the workbook root.
func labPath(lab *catalog.Lab, name string) string {
	return path.Join(filepath.ToSlash(lab.RelDir), name)
}

// review says what the learner should know about the files a run grades:
// shipped files that differ on disk, stubs that are missing or may not
// compile, files that are not graded, and what the scan of the learner's
// files flags.
func (g *Grader) review(lab *catalog.Lab, src *sources) error {
	if moduleDisk, err := shipped.ModuleOnDisk(g.Workbook); err == nil {
		for _, d := range shipped.Diff(src.module, moduleDisk) {
			src.notices = append(src.notices, d+"; graded with the shipped one")
		}
	}
	for name, data := range src.labFiles {
		if slices.Contains(lab.Stubs, name) {
			continue
		}
		switch current, ok := src.disk[name]; {
		case !ok:
			src.notices = append(src.notices, labPath(lab, name)+" is missing; graded with the shipped one")
		case !bytes.Equal(current, data):
			src.notices = append(src.notices, labPath(lab, name)+" differs from the shipped copy; graded with the shipped one")
		}
	}
	for _, name := range lab.Stubs {
		rel := labPath(lab, name)
		if _, ok := src.disk[name]; !ok {
			what := "is missing"
			if _, err := os.Lstat(filepath.Join(lab.Dir, name)); err == nil {
				what = fmt.Sprintf("is not a regular file of at most %d MiB", shipped.MaxFileBytes>>20)
			}
			src.notices = append(src.notices, rel+" "+what+"; graded with the shipped stub")
		}
		data := src.files[rel]
		if buildConstraint(data) {
			src.notices = append(src.notices, rel+" has a //go:build line, so it may not be compiled at all")
		}
		found := forgery.Scan(rel, data)
		src.findings = append(src.findings, found...)
		for _, f := range found {
			if strings.Contains(f.What, "Exit") {
				src.exits = append(src.exits, f)
			}
		}
	}
	extra, err := extraFiles(lab, src.labFiles)
	if err != nil {
		return err
	}
	for _, name := range extra {
		src.notices = append(src.notices, labPath(lab, name)+" is not one of the lab's files: not graded")
		if data, ok := src.disk[name]; ok && !shipped.IsTest(name) {
			src.findings = append(src.findings, forgery.Scan(labPath(lab, name), data)...)
		}
	}
	return nil
}

// testNames lists the top-level Test functions of the lab's test files.
func testNames(lab *catalog.Lab, files map[string][]byte) []string {
	names := []string{}
	prefix := filepath.ToSlash(lab.RelDir) + "/"
	for name, data := range files {
		if !strings.HasPrefix(name, prefix) || !shipped.IsTest(name) {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, data, parser.SkipObjectResolution)
		if err != nil {
			continue // the build reports it
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if ok && fn.Recv == nil && isTestName(fn.Name.Name) {
				names = append(names, fn.Name.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// isTestName applies go test's rule: Test, then nothing or a character that
// is not a lower-case letter.
func isTestName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Test")
	if !ok || name == "TestMain" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return rest == "" || !unicode.IsLower(r)
}

// buildConstraint reports whether a Go file has a //go:build line before
// its package clause: a stub copied from a solution keeps one.
func buildConstraint(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "//go:build"):
			return true
		case strings.HasPrefix(line, "package "):
			return false
		}
	}
	return false
}

// buildExtensions are the files the go command would compile in a package
// folder.
var buildExtensions = []string{".go", ".s", ".S", ".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx",
	".f", ".F", ".for", ".f90", ".m", ".swig", ".swigcxx", ".syso"}

// extraFiles lists the files in the lab folder that a build would compile
// but that are neither shipped nor stubs.
func extraFiles(lab *catalog.Lab, shippedFiles map[string][]byte) ([]string, error) {
	entries, err := os.ReadDir(lab.Dir)
	if err != nil {
		return nil, err
	}
	var extra []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !slices.Contains(buildExtensions, filepath.Ext(name)) || strings.HasPrefix(name, ".") {
			continue
		}
		if _, ok := shippedFiles[name]; !ok && !slices.Contains(lab.Stubs, name) {
			extra = append(extra, name)
		}
	}
	return extra, nil
}

// hash identifies the graded files: a passed part whose hash changed was
// passed by other code, and shows as changed until it is run again.
func (s *sources) hash() string {
	names := make([]string, 0, len(s.files))
	for n := range s.files {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(s.files[n]))
		h.Write(s.files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// FilesHash identifies the files a graded run of the lab compiles (see
// sources). Progress stores it to tell when a passed part was changed.
// Without a shipped copy, it covers the lab's Go files on disk.
func (g *Grader) FilesHash(lab *catalog.Lab) (string, error) {
	src, err := g.gradedSources(lab)
	if errors.Is(err, shipped.ErrNoArchive) {
		src, err = onDiskSources(lab)
	}
	if err != nil {
		return "", err
	}
	return src.hash(), nil
}

// onDiskSources is every Go file of the lab folder: what an in-place build
// compiles when there is no shipped copy.
func onDiskSources(lab *catalog.Lab) (*sources, error) {
	disk, err := shipped.OnDisk(lab)
	if err != nil {
		return nil, err
	}
	src := &sources{files: map[string][]byte{}}
	for name, data := range disk {
		src.files[name] = data
	}
	return src, nil
}

// graded is a lab laid out for a graded build.
type graded struct {
	spec    *run.Spec
	hash    string   // of the files built
	notices []string // about them, for the learner
	exits   []forgery.Finding
	release func()
	// inPlace is set when there is no shipped copy to build from: the run
	// is shown, but nothing it did was earned by the shipped tests.
	inPlace bool
}

// prepareGraded lays out a graded build of lab. A workbook with no shipped
// copy builds in place, from the files on disk.
func (g *Grader) prepareGraded(lab *catalog.Lab) (*graded, error) {
	gr := &graded{spec: &run.Spec{Root: g.Workbook.Root, Lab: lab}, release: func() {}}
	src, err := g.gradedSources(lab)
	if errors.Is(err, shipped.ErrNoArchive) {
		gr.notices = []string{err.Error() + "; running the tests on disk, and not saving progress"}
		gr.inPlace = true
		if src, err = onDiskSources(lab); err != nil {
			return nil, fmt.Errorf("read lab %s: %w", lab.ID(), err)
		}
		gr.hash = src.hash()
		return gr, nil
	}
	if err == nil {
		err = g.review(lab, src)
	}
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab.ID(), err)
	}
	root, release, err := g.buildCopy(lab, src.files)
	if err != nil {
		return nil, fmt.Errorf("lay out lab %s to build: %w", lab.ID(), err)
	}
	gr.spec.BuildRoot, gr.release, gr.hash, gr.exits = root, release, src.hash(), src.exits
	gr.spec.Tests = testNames(lab, src.files)
	gr.notices = append(src.notices, findingNotices(src.findings)...)
	return gr, nil
}

// explain adds to a note about an early exit where in the learner's files
// the process may have been ended: an exit during start-up leaves no stack.
func (gr *graded) explain(p *run.PartResult) {
	if len(gr.exits) == 0 {
		return
	}
	if p.Exited {
		p.Note += fmt.Sprintf(" — at %s:%d", gr.exits[0].File, gr.exits[0].Line)
	}
}

// findingNotices gives one notice per file and kind of finding: the first,
// and how many more like it there are.
func findingNotices(findings []forgery.Finding) []string {
	kind := func(f forgery.Finding) string {
		words := strings.Fields(f.What)
		return f.File + "\x00" + strings.Join(words[:min(3, len(words))], " ")
	}
	count := map[string]int{}
	for _, f := range findings {
		count[kind(f)]++
	}
	var notices []string
	for _, f := range findings {
		n, ok := count[kind(f)]
		if !ok {
			continue
		}
		delete(count, kind(f))
		text := f.String()
		if n > 1 {
			text += fmt.Sprintf(" (and %d more like it in this file)", n-1)
		}
		notices = append(notices, text)
	}
	return notices
}
