// Package run builds a lab's tests once and runs each part in its own
// process, decoding test2json events into per-test results. A part that
// panics, exits, deadlocks, hangs or floods its output costs that part only.
package run

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/distlings/distlings/grader/catalog"
)

// Toolchain is the Go installation the grader drives.
type Toolchain struct {
	Go        string // the go command
	Test2JSON string // the toolchain's test2json, run directly to avoid a go command per part
	// CanRace is false when cgo is off (no C compiler): the race detector
	// needs cgo on most platforms.
	CanRace bool
}

// FindToolchain locates go on PATH and asks it where its tools are.
func FindToolchain(ctx context.Context) (*Toolchain, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the go command is not on PATH: install Go from https://go.dev/dl and try again")
	}
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOTOOLDIR", "CGO_ENABLED").Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return nil, fmt.Errorf("go env: unexpected output %q", out)
	}
	tc := &Toolchain{Go: goCmd, CanRace: strings.TrimSpace(lines[1]) == "1"}
	t2j := filepath.Join(strings.TrimSpace(lines[0]), "test2json")
	if runtime.GOOS == "windows" {
		t2j += ".exe"
	}
	if _, err := os.Stat(t2j); err != nil {
		// Since Go 1.25 the distribution builds test2json on first use; -n
		// builds it into the build cache and prints where.
		out, err := exec.CommandContext(ctx, goCmd, "tool", "-n", "test2json").Output()
		if err != nil {
			return nil, fmt.Errorf("this Go installation cannot provide test2json: %w", err)
		}
		t2j = strings.TrimSpace(string(out))
	}
	tc.Test2JSON = t2j
	return tc, nil
}

// Race is the Spec.Race of a run that follows each part's manifest
// setting: nil (no part under the detector) when off is set or when this
// toolchain cannot race.
func (tc *Toolchain) Race(off bool) func(*catalog.Part) bool {
	if off || !tc.CanRace {
		return nil
	}
	return func(p *catalog.Part) bool { return p.Race }
}

// listTimeout bounds listing a binary's tests: package init runs first,
// and learner code there may hang.
const listTimeout = 30 * time.Second

// List returns the top-level test functions a built test binary holds.
func (tc *Toolchain) List(ctx context.Context, bin, dir string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.list", "^Test")
	cmd.Dir = dir
	cmd.Env = testEnv()
	killGroup(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitedBuffer{buf: &stdout, max: maxBuildBytes}
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 4 << 10}
	err := cmd.Run()
	out := stdout.Bytes()
	if err != nil {
		return nil, fmt.Errorf("list tests: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "Test") {
			names = append(names, line)
		}
	}
	return names, nil
}
