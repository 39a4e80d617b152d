package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// ManifestFile is the name of a lab's manifest inside its folder.
const ManifestFile = "lab.toml"

// DefaultTimeout bounds one part's run when the manifest sets none.
const DefaultTimeout = 2 * time.Minute

// Manifest is what lab.toml says about a lab.
type Manifest struct {
	Title   string // short name: "Idempotency"
	Tagline string // the idea in one line
	// Stubs are the files the learner edits, relative to the lab folder.
	// They are what `grader reset` restores and what a solution replaces.
	Stubs   []string
	Timeout time.Duration // per part, unless the part sets its own
	// Race says whether the parts run under the race detector (when the
	// toolchain can), unless a part says otherwise; RaceReason says why, so
	// that the choice is made on purpose: the detector slows tests several
	// times over and finds only races between goroutines of the learner's
	// own.
	Race       bool
	RaceReason string
	// MemoryMiB bounds the heap of each test process: a part that
	// allocates without end fails with "used more than N MiB" instead of
	// taking the machine down.
	MemoryMiB int
	Parts     []*Part
}

// DefaultMemoryMiB is the memory limit of a lab whose manifest sets none.
const DefaultMemoryMiB = 1024

// MemoryLimit is the lab's memory limit in bytes.
func (m *Manifest) MemoryLimit() int64 { return int64(m.MemoryMiB) << 20 }

// Part is one graded step of a lab.
type Part struct {
	Number  int // 1-based, in manifest order
	Title   string
	Points  int
	Tests   []string // top-level test functions that grade this part
	Timeout time.Duration
	Hints   []string // tiered: each says more than the one before
	File    string   // the stub file the part is written in
	// Race is the lab's setting unless the part overrides it, with
	// RaceReason saying why.
	Race       bool
	RaceReason string
}

// Points is the sum of the parts' points.
func (m *Manifest) Points() int {
	n := 0
	for _, p := range m.Parts {
		n += p.Points
	}
	return n
}

// Part returns part n (1-based), or nil.
func (m *Manifest) Part(n int) *Part {
	if n < 1 || n > len(m.Parts) {
		return nil
	}
	return m.Parts[n-1]
}

// ManifestError says what is wrong with a manifest: which file, which field.
type ManifestError struct {
	File  string // path relative to the workbook root
	Field string // e.g. "part 2: points"; empty for syntax errors
	Msg   string
}

func (e *ManifestError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Msg)
}

// rawManifest mirrors the TOML; Manifest is what the rest of the grader uses.
type rawManifest struct {
	Title      string    `toml:"title"`
	Tagline    string    `toml:"tagline"`
	Stubs      []string  `toml:"stubs"`
	Timeout    string    `toml:"timeout"`
	Race       *bool     `toml:"race"`
	RaceReason string    `toml:"race_reason"`
	MemoryMiB  *int      `toml:"memory_mib"`
	Parts      []rawPart `toml:"part"`
}

type rawPart struct {
	Title      string   `toml:"title"`
	Points     int      `toml:"points"`
	Tests      []string `toml:"tests"`
	Timeout    string   `toml:"timeout"`
	Hints      []string `toml:"hints"`
	File       string   `toml:"file"`
	Race       *bool    `toml:"race"`
	RaceReason string   `toml:"race_reason"`
}

var testName = regexp.MustCompile(`^Test([A-Z0-9_]\w*)?$`)

// ReadManifest reads and checks the manifest of the lab in dir. rel names the
// file in errors.
func ReadManifest(dir, rel string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &ManifestError{File: rel, Msg: "missing: every lab folder needs a " + ManifestFile}
		}
		return nil, &ManifestError{File: rel, Msg: err.Error()}
	}
	return ParseManifest(data, dir, rel)
}

// ParseManifest checks a manifest's text. dir is the lab folder, used to check
// that the stub files exist.
func ParseManifest(data []byte, dir, rel string) (*Manifest, error) {
	var raw rawManifest
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, &ManifestError{File: rel, Msg: fmt.Sprintf("line %d: %s", perr.Position.Line, perr.Message)}
		}
		return nil, &ManifestError{File: rel, Msg: err.Error()}
	}
	bad := func(field, format string, args ...any) error {
		return &ManifestError{File: rel, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		return nil, bad(unknownField(data, keys[0]), "unknown field (known: title, tagline, stubs, timeout, race, race_reason, memory_mib, [[part]] with title, points, file, tests, timeout, hints, race, race_reason)")
	}

	m := &Manifest{Title: strings.TrimSpace(raw.Title), Tagline: strings.TrimSpace(raw.Tagline)}
	if m.Title == "" {
		return nil, bad("title", "missing")
	}
	if raw.Race != nil {
		m.Race, m.RaceReason = *raw.Race, strings.TrimSpace(raw.RaceReason)
		if m.RaceReason == "" {
			return nil, bad("race_reason", "missing: say why the race detector is on or off for this lab (it finds races only between goroutines of the learner's own code, and slows tests several times over)")
		}
	} else if raw.RaceReason != "" {
		return nil, bad("race_reason", "given without race: set race = true or false")
	}
	if m.Timeout, err = parseTimeout(raw.Timeout, DefaultTimeout); err != nil {
		return nil, bad("timeout", "%v", err)
	}
	m.MemoryMiB = DefaultMemoryMiB
	if raw.MemoryMiB != nil {
		if *raw.MemoryMiB < 64 {
			return nil, bad("memory_mib", "%d is too small: a Go test process needs at least 64 MiB", *raw.MemoryMiB)
		}
		m.MemoryMiB = *raw.MemoryMiB
	}
	if len(raw.Stubs) == 0 {
		return nil, bad("stubs", "missing: list the files the learner edits")
	}
	seenStub := map[string]bool{}
	for _, s := range raw.Stubs {
		switch {
		case s != filepath.Base(s) || !strings.HasSuffix(s, ".go") || strings.HasSuffix(s, "_test.go"):
			return nil, bad("stubs", "%q is not a non-test .go file of the lab folder", s)
		case seenStub[s]:
			return nil, bad("stubs", "%q is listed twice", s)
		}
		seenStub[s] = true
		if _, err := os.Stat(filepath.Join(dir, s)); err != nil {
			return nil, bad("stubs", "%q does not exist in the lab folder", s)
		}
		m.Stubs = append(m.Stubs, s)
	}

	if len(raw.Parts) == 0 {
		return nil, bad("part", "missing: a lab needs at least one [[part]]")
	}
	owner := map[string]int{}
	for i, rp := range raw.Parts {
		n := i + 1
		field := func(name string) string { return fmt.Sprintf("part %d: %s", n, name) }
		p := &Part{Number: n, Title: strings.TrimSpace(rp.Title), Points: rp.Points, Hints: rp.Hints,
			Race: m.Race, RaceReason: m.RaceReason}
		if rp.Race != nil {
			p.Race, p.RaceReason = *rp.Race, strings.TrimSpace(rp.RaceReason)
			if p.RaceReason == "" {
				return nil, bad(field("race_reason"), "missing: a part that sets race says why")
			}
		} else if rp.RaceReason != "" {
			return nil, bad(field("race_reason"), "given without race: set race = true or false for this part")
		}
		if p.Title == "" {
			return nil, bad(field("title"), "missing")
		}
		if p.Points <= 0 {
			return nil, bad(field("points"), "must be a positive whole number (got %d)", p.Points)
		}
		if len(rp.Tests) == 0 {
			return nil, bad(field("tests"), "missing: a part is graded by at least one test")
		}
		for _, name := range rp.Tests {
			if !testName.MatchString(name) {
				return nil, bad(field("tests"), "%q is not the name of a Go test function", name)
			}
			if prev, dup := owner[name]; dup {
				return nil, bad(field("tests"), "%s already belongs to part %d; a test grades exactly one part", name, prev)
			}
			owner[name] = n
			p.Tests = append(p.Tests, name)
		}
		if p.Timeout, err = parseTimeout(rp.Timeout, m.Timeout); err != nil {
			return nil, bad(field("timeout"), "%v", err)
		}
		for j, h := range rp.Hints {
			if strings.TrimSpace(h) == "" {
				return nil, bad(field("hints"), "hint %d is empty", j+1)
			}
		}
		if len(p.Hints) == 0 {
			return nil, bad(field("hints"), "missing: give at least one hint")
		}
		switch {
		case rp.File == "":
			p.File = m.Stubs[0]
		case !seenStub[rp.File]:
			return nil, bad(field("file"), "%q is not one of the stubs", rp.File)
		default:
			p.File = rp.File
		}
		m.Parts = append(m.Parts, p)
	}
	return m, nil
}

func parseTimeout(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration like \"90s\" or \"2m\"", s)
	}
	return d, nil
}

// unknownField names an unknown key the way other errors name fields: a key
// of a [[part]] table as "part N: key".
func unknownField(data []byte, key toml.Key) string {
	if len(key) != 2 || key[0] != "part" {
		return key.String()
	}
	var parts struct{ Part []map[string]any }
	if _, err := toml.Decode(string(data), &parts); err == nil {
		for i, p := range parts.Part {
			if _, ok := p[key[1]]; ok {
				return fmt.Sprintf("part %d: %s", i+1, key[1])
			}
		}
	}
	return key.String()
}
