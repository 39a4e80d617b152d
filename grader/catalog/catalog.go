package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Lab is one folder under labs/, with its manifest.
type Lab struct {
	Number     int    // 1 for labs/01-idempotency
	Slug       string // "idempotency"
	Name       string // "01-idempotency", the folder name
	Dir        string // absolute path
	RelDir     string // "labs/01-idempotency"
	ImportPath string // the lab's Go package path
	*Manifest         // nil when Err is set
	Err        error  // why the lab cannot be used, e.g. a broken manifest
}

// ID is how the grader prints a lab: "01 idempotency".
func (l *Lab) ID() string { return fmt.Sprintf("%02d %s", l.Number, l.Slug) }

// Catalog is every lab of a workbook, in order.
type Catalog struct {
	Workbook *Workbook
	Labs     []*Lab
}

var labFolder = regexp.MustCompile(`^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)$`)

// Load reads every lab folder (labs/NN-name). A lab whose manifest is broken is
// kept with Err set, so the other labs still work and the problem is shown.
func Load(w *Workbook) (*Catalog, error) {
	entries, err := os.ReadDir(w.LabsDir())
	if err != nil {
		return nil, fmt.Errorf("read labs: %w", err)
	}
	c := &Catalog{Workbook: w}
	seen := map[int]string{}
	for _, e := range entries {
		m := labFolder.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		num, _ := strconv.Atoi(m[1])
		lab := &Lab{
			Number:     num,
			Slug:       m[2],
			Name:       e.Name(),
			Dir:        filepath.Join(w.LabsDir(), e.Name()),
			RelDir:     "labs/" + e.Name(),
			ImportPath: w.Module + "/labs/" + e.Name(),
		}
		rel := lab.RelDir + "/" + ManifestFile
		lab.Manifest, lab.Err = ReadManifest(lab.Dir, rel)
		if prev, dup := seen[num]; dup {
			lab.Manifest, lab.Err = nil, &ManifestError{File: lab.RelDir, Msg: fmt.Sprintf("lab number %02d is also used by labs/%s", num, prev)}
		}
		seen[num] = e.Name()
		c.Labs = append(c.Labs, lab)
	}
	sort.SliceStable(c.Labs, func(i, j int) bool { return c.Labs[i].Number < c.Labs[j].Number })
	return c, nil
}

// UnknownLabError is returned by Find for a name that matches no lab. Its
// message lists the labs, so the learner sees what to type instead.
type UnknownLabError struct {
	Name string
	Labs []*Lab
}

func (e *UnknownLabError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no lab %q. The labs are:", e.Name)
	for _, l := range e.Labs {
		title := ""
		if l.Manifest != nil {
			title = l.Title
		}
		fmt.Fprintf(&b, "\n  %02d  %-22s %s", l.Number, l.Slug, title)
	}
	if len(e.Labs) == 0 {
		b.WriteString(" (none: labs/ has no NN-name folders)")
	}
	return b.String()
}

// Find resolves how a person names a lab: its number ("1", "01"), its name
// ("idempotency", or an unambiguous start of it), its folder
// ("01-idempotency"), or a path to the folder relative to cwd or absolute.
func (c *Catalog) Find(name, cwd string) (*Lab, error) {
	key := strings.TrimSuffix(strings.TrimSpace(name), "/")
	if key == "" {
		return nil, &UnknownLabError{Name: name, Labs: c.Labs}
	}
	if n, err := strconv.Atoi(key); err == nil {
		for _, l := range c.Labs {
			if l.Number == n {
				return l, nil
			}
		}
		return nil, &UnknownLabError{Name: name, Labs: c.Labs}
	}
	lower := strings.ToLower(key)
	for _, l := range c.Labs {
		if lower == l.Slug || lower == l.Name {
			return l, nil
		}
	}
	if strings.ContainsAny(key, `/\`) || key == "." || key == ".." {
		path := key
		if !filepath.IsAbs(path) {
			path = filepath.Join(cwd, path)
		}
		for _, l := range c.Labs {
			if filepath.Clean(path) == l.Dir {
				return l, nil
			}
		}
		return nil, &UnknownLabError{Name: name, Labs: c.Labs}
	}
	var matches []*Lab
	for _, l := range c.Labs {
		if strings.HasPrefix(l.Slug, lower) {
			matches = append(matches, l)
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	return nil, &UnknownLabError{Name: name, Labs: c.Labs}
}
