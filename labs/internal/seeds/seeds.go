// Package seeds gives randomized lab tests a seed that repeats: the same
// seed means the same run. By default a test's seed is derived from its
// name, so every run of the suite is the same run; the -seed flag (or the
// DISTLINGS_SEED environment variable) replays or explores another one.
// When a test fails, its seed and the commands that replay it are printed.
package seeds

import (
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var seedFlag = flag.Uint64("seed", 0, "seed for randomized tests (0: each test's own fixed seed)")

// announced holds the tests that will print their seed if they fail.
var announced sync.Map

// For returns the seed of the running test and arranges for it to be
// printed, with a replay command, if the test fails.
func For(t testing.TB) uint64 {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		if env := os.Getenv("DISTLINGS_SEED"); env != "" {
			v, err := strconv.ParseUint(env, 10, 64)
			if err != nil {
				t.Fatalf("DISTLINGS_SEED=%q is not a whole number", env)
			}
			seed = v
		}
	}
	if seed == 0 {
		h := fnv.New64a()
		h.Write([]byte(t.Name()))
		seed = h.Sum64()%1_000_000 + 1 // short enough to type
	}
	// A test may ask more than once (For, then Rand); it is told its seed once.
	if _, seen := announced.LoadOrStore(t, true); !seen {
		t.Cleanup(func() {
			announced.Delete(t)
			if t.Failed() {
				t.Logf("seed %d; replay with:\n%s", seed, Replay(t.Name(), seed))
			}
		})
	}
	return seed
}

// Rand returns a generator for the running test, seeded by For.
func Rand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := For(t)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Replay is the commands that run one test again with a seed: through the
// grader, and with plain go test.
func Replay(test string, seed uint64) string {
	top, _, _ := strings.Cut(test, "/")
	pattern := "^" + regexp.QuoteMeta(top) + "$"
	dir, lab := labDir()
	var b strings.Builder
	if lab != "" {
		fmt.Fprintf(&b, "    grader test %s -seed %d\n", lab, seed)
	}
	fmt.Fprintf(&b, "    go test ./%s -run '%s' -seed %d", dir, pattern, seed)
	return b.String()
}

// labDir finds the package folder relative to the module root, and the lab
// number if it is a lab ("labs/01-idempotency", "01").
func labDir() (dir, lab string) {
	wd, err := os.Getwd()
	if err != nil {
		return ".", ""
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return ".", ""
		}
		root = parent
	}
	rel, err := filepath.Rel(root, wd)
	if err != nil {
		return ".", ""
	}
	rel = filepath.ToSlash(rel)
	if m := regexp.MustCompile(`^labs/(\d{2})-[a-z0-9-]+$`).FindStringSubmatch(rel); m != nil {
		lab = m[1]
	}
	return rel, lab
}
