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
	seed, _ := fixedSeed(t)
	Use(t, seed)
	return seed
}

// fixedSeed is the seed given with -seed or DISTLINGS_SEED (only is true),
// or else one derived from the test's name.
func fixedSeed(t testing.TB) (seed uint64, only bool) {
	t.Helper()
	if *seedFlag != 0 {
		return *seedFlag, true
	}
	if env := os.Getenv("DISTLINGS_SEED"); env != "" {
		v, err := strconv.ParseUint(env, 10, 64)
		if err != nil || v == 0 {
			t.Fatalf("DISTLINGS_SEED=%q is not a positive whole number", env)
		}
		return v, true
	}
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	return h.Sum64()%1_000_000 + 1, false // short enough to type
}

// Replaying reports whether one seed was asked for, with -seed or
// DISTLINGS_SEED: a run worth recording in full.
func Replaying() bool {
	return *seedFlag != 0 || os.Getenv("DISTLINGS_SEED") != ""
}

// Use arranges for seed to be printed, with the commands that replay it, if
// the test fails. A test is told its seed once, however often it asks.
func Use(t testing.TB, seed uint64) {
	if _, seen := announced.LoadOrStore(t, true); seen {
		return
	}
	t.Cleanup(func() {
		announced.Delete(t)
		if t.Failed() {
			t.Logf("seed %d; replay with:\n%s", seed, Replay(t.Name(), seed))
		}
	})
}

var sweepFlag = flag.Int("seeds", 0, "how many seeds a sweeping test tries (0: the test's own number)")

// Sweep runs check once per seed, each as a subtest named seed_N, and stops
// at the first seed that fails: one failure to read, with its replay
// command. The number of seeds is the test's own, unless -seeds or
// DISTLINGS_SEEDS says otherwise; with -seed (or DISTLINGS_SEED) it runs
// that one seed only.
func Sweep(t *testing.T, count int, check func(t *testing.T, seed uint64)) {
	t.Helper()
	if n := *sweepFlag; n > 0 {
		count = n
	} else if env := os.Getenv("DISTLINGS_SEEDS"); env != "" {
		n, err := strconv.Atoi(env)
		if err != nil || n < 1 {
			t.Fatalf("DISTLINGS_SEEDS=%q is not a positive whole number", env)
		}
		count = n
	}
	first, only := fixedSeed(t)
	if only {
		count = 1
	}
	for i := range count {
		seed := first + uint64(i)
		ok := t.Run(SubtestName(seed), func(t *testing.T) {
			Use(t, seed)
			check(t, seed)
		})
		if !ok {
			if count > 1 {
				t.Logf("stopped at the first failing seed, %d, after %d of %d seeds", seed, i+1, count)
			}
			return
		}
	}
}

// SubtestName is the name of a seed's subtest in a sweep.
func SubtestName(seed uint64) string { return fmt.Sprintf("seed_%d", seed) }

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
