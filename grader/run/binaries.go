package run

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Binaries keeps the test binaries built for one lab by what went into
// them, so that runs of the same sources link once: verify builds a lab
// many times over, often with the same overlay.
type Binaries struct {
	dir   string
	mu    sync.Mutex
	built map[string]*cachedBuild
}

type cachedBuild struct {
	once  sync.Once
	bin   string
	build Build
}

// NewBinaries keeps binaries in dir, which the caller removes.
func NewBinaries(dir string) *Binaries {
	return &Binaries{dir: dir, built: map[string]*cachedBuild{}}
}

// get returns the binary for key, building it in a folder of its own the
// first time it is asked for.
func (b *Binaries) get(key string, build func(dir string) (string, Build)) (string, Build) {
	b.mu.Lock()
	c, ok := b.built[key]
	if !ok {
		c = &cachedBuild{}
		b.built[key] = c
	}
	b.mu.Unlock()
	c.once.Do(func() {
		dir := filepath.Join(b.dir, "bin-"+key[:16])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			c.build = Build{Output: []string{err.Error()}}
			return
		}
		c.bin, c.build = build(dir)
	})
	return c.bin, c.build
}

// buildKey names what goes into a build: the flags and every overlaid
// file's content (the lab's own files do not change during a run).
func buildKey(s *Spec, race bool) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "race=%v\ntags=%q\nlab=%s\n", race, s.Tags, s.Lab.Dir)
	targets := make([]string, 0, len(s.Overlay))
	for t := range s.Overlay {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	for _, t := range targets {
		data, err := os.ReadFile(s.Overlay[t])
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "%s=%x\n", t, sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
