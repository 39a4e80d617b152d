package scratch

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFoldersLiveInOneHomeThatCleanupRemoves(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	dir, err := MkdirTemp("lab-")
	require.NoError(t, err)
	home, err := Home()
	require.NoError(t, err)
	assert.Equal(t, home, filepath.Dir(dir))
	Cleanup()
	assert.NoDirExists(t, home)
	assert.NoDirExists(t, dir)
}

func TestSweepRemovesOnlyTheHomesOfGradersThatAreGone(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	mine, err := Home()
	require.NoError(t, err)
	defer Cleanup()

	mkdir := func(name string) string {
		dir := filepath.Join(tmp, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	// A grader that was killed: its lock file is there, and free.
	dead := mkdir("distlings-dead")
	require.NoError(t, os.WriteFile(filepath.Join(dead, lockName), nil, 0o644))
	// A grader still running: its lock is held.
	live := mkdir("distlings-live")
	held := flock.New(filepath.Join(live, lockName))
	require.NoError(t, held.Lock())
	defer held.Unlock()
	// A folder without a lock: removed once it is old, not while it may be
	// a grader starting up.
	young := mkdir("distlings-young")
	old := mkdir("distlings-old")
	long := time.Now().Add(-2 * legacyAge)
	require.NoError(t, os.Chtimes(old, long, long))
	other := mkdir("someone-else")

	n, err := Sweep()
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.NoDirExists(t, dead)
	assert.NoDirExists(t, old)
	for _, kept := range []string{mine, live, young, other} {
		assert.DirExists(t, kept)
	}
}
