package progress

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

// fixedStore is a store whose clock is stopped at t0, so the name of a
// damaged file's copy is known.
func fixedStore(dir string) *Store {
	s := NewStore(dir)
	s.now = func() time.Time { return t0 }
	return s
}

func TestMissingProgressFileLoadsAsEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".grader")
	s := NewStore(dir)
	b, notices, err := s.Load()
	require.NoError(t, err)
	assert.Empty(t, notices)
	assert.Equal(t, &Book{Version: Version}, b)
	assert.NoDirExists(t, dir, "Load touches nothing")
}

func TestUpdateWritesAtomicallyAndLoadSeesIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", ".grader")
	s := NewStore(dir)
	notices, err := s.Update(func(b *Book) {
		l := b.Lab("01-alpha")
		l.Record(1, true, t0, "hash1")
		l.Record(2, false, t1, "ignored")
		l.SawHint(2, 1)
	})
	require.NoError(t, err)
	assert.Empty(t, notices)
	assert.Equal(t, filepath.Join(dir, FileName), s.Path())

	// Only the progress file and its lock: no temporary file is left behind.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{FileName, "progress.lock"}, names)

	data, err := os.ReadFile(s.Path())
	require.NoError(t, err)
	assert.True(t, json.Valid(data))

	// A second store, as a second grader would, sees the same records.
	b, notices, err := NewStore(dir).Load()
	require.NoError(t, err)
	assert.Empty(t, notices)
	assert.Equal(t, Version, b.Version)
	l := b.Peek("01-alpha")
	require.NotNil(t, l)
	p1 := l.Part(1)
	require.NotNil(t, p1)
	assert.Equal(t, Passed, p1.Last)
	assert.True(t, p1.LastRun.Equal(t0))
	assert.True(t, p1.PassedAt.Equal(t0))
	assert.Equal(t, "hash1", p1.PassedHash)
	p2 := l.Part(2)
	require.NotNil(t, p2)
	assert.Equal(t, Failed, p2.Last)
	assert.True(t, p2.PassedAt.IsZero())
	assert.Empty(t, p2.PassedHash)
	assert.Equal(t, 1, l.HintsSeen(2))
	assert.Equal(t, 0, l.HintsSeen(1))

	// A later update starts from what is on disk.
	_, err = s.Update(func(b *Book) { b.Lab("01-alpha").Record(2, true, t1, "hash2") })
	require.NoError(t, err)
	b, _, err = s.Load()
	require.NoError(t, err)
	assert.Equal(t, Passed, b.Peek("01-alpha").Part(1).Last)
	assert.Equal(t, "hash2", b.Peek("01-alpha").Part(2).PassedHash)
}

func TestDamagedProgressIsSetAsideAndReported(t *testing.T) {
	dir := t.TempDir()
	s := fixedStore(dir)
	damaged := []byte(`{"version": 1, "labs": {`)
	require.NoError(t, os.WriteFile(s.Path(), damaged, 0o644))

	b, notices, err := s.Load()
	require.NoError(t, err)
	assert.Equal(t, &Book{Version: Version}, b)
	aside := s.Path() + ".damaged-20260301T100000Z"
	require.Len(t, notices, 1)
	assert.Contains(t, notices[0], "was damaged: it is not valid JSON")
	assert.Contains(t, notices[0], "moved it to "+aside)

	assert.NoFileExists(t, s.Path())
	matches, err := filepath.Glob(filepath.Join(dir, FileName+".damaged-*"))
	require.NoError(t, err)
	assert.Equal(t, []string{aside}, matches)
	kept, err := os.ReadFile(aside)
	require.NoError(t, err)
	assert.Equal(t, damaged, kept, "the damaged file is kept as it was")

	// Once set aside, the damage is reported once, and the store keeps working.
	_, notices, err = s.Load()
	require.NoError(t, err)
	assert.Empty(t, notices)
	notices, err = s.Update(func(b *Book) { b.Lab("01-alpha").Record(1, true, t1, "h") })
	require.NoError(t, err)
	assert.Empty(t, notices)
	b, notices, err = s.Load()
	require.NoError(t, err)
	assert.Empty(t, notices)
	assert.Equal(t, Passed, b.Peek("01-alpha").Part(1).Last)
}

func TestDamageTwiceInOneSecondKeepsBothCopies(t *testing.T) {
	s := fixedStore(t.TempDir()) // the clock never moves
	for _, damaged := range []string{"first damage", "second damage"} {
		require.NoError(t, os.WriteFile(s.Path(), []byte(damaged), 0o644))
		_, notices, err := s.Load()
		require.NoError(t, err)
		require.Len(t, notices, 1)
	}
	first, err := os.ReadFile(s.Path() + ".damaged-20260301T100000Z")
	require.NoError(t, err)
	second, err := os.ReadFile(s.Path() + ".damaged-20260301T100000Z-2")
	require.NoError(t, err)
	assert.Equal(t, "first damage", string(first), "an earlier damaged copy must not be overwritten")
	assert.Equal(t, "second damage", string(second))
}

func TestUpdateSetsDamagedProgressAsideAndRecords(t *testing.T) {
	s := fixedStore(t.TempDir())
	require.NoError(t, os.WriteFile(s.Path(), []byte("garbage"), 0o644))

	notices, err := s.Update(func(b *Book) { b.Lab("01-alpha").SawHint(1, 2) })
	require.NoError(t, err)
	require.Len(t, notices, 1)
	assert.Contains(t, notices[0], "not valid JSON")
	assert.FileExists(t, s.Path()+".damaged-20260301T100000Z")

	b, notices, err := s.Load()
	require.NoError(t, err)
	assert.Empty(t, notices)
	assert.Equal(t, 2, b.Peek("01-alpha").HintsSeen(1))
}

func TestProgressWithoutVersionIsTreatedAsDamaged(t *testing.T) {
	for _, text := range []string{`{}`, `{"version": 0, "labs": {}}`, `{"version": -3}`, `null`} {
		s := fixedStore(t.TempDir())
		require.NoError(t, os.WriteFile(s.Path(), []byte(text), 0o644))
		b, notices, err := s.Load()
		require.NoError(t, err, text)
		assert.Equal(t, &Book{Version: Version}, b, text)
		if assert.Len(t, notices, 1, text) {
			assert.Contains(t, notices[0], "it has no valid version", text)
		}
		assert.FileExists(t, s.Path()+".damaged-20260301T100000Z", text)
	}
}

func TestNewerProgressFileIsNeverOverwritten(t *testing.T) {
	dir := t.TempDir()
	s := fixedStore(dir)
	newer := []byte(`{"version": 2, "labs": {"01-alpha": {"parts": {"1": {"last": "passed"}}}}, "extra": true}`)
	require.NoError(t, os.WriteFile(s.Path(), newer, 0o644))

	// Load goes on with an empty book and says why.
	b, notices, err := s.Load()
	require.NoError(t, err)
	assert.Equal(t, &Book{Version: Version}, b)
	require.Len(t, notices, 1)
	assert.Contains(t, notices[0], "has format 2, newer than this grader understands (1)")

	// Update refuses, without calling change or writing anything.
	called := false
	_, err = s.Update(func(*Book) { called = true })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has format 2")
	assert.False(t, called)

	data, err := os.ReadFile(s.Path())
	require.NoError(t, err)
	assert.Equal(t, newer, data)
	matches, err := filepath.Glob(filepath.Join(dir, FileName+".damaged-*"))
	require.NoError(t, err)
	assert.Empty(t, matches, "a newer file is not damaged")
}

func TestUnreadableProgressIsAnError(t *testing.T) {
	s := NewStore(t.TempDir())
	require.NoError(t, os.Mkdir(s.Path(), 0o755)) // reading a folder fails

	b, _, err := s.Load()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read progress")
	assert.Equal(t, &Book{Version: Version}, b)

	_, err = s.Update(func(*Book) { t.Error("change called") })
	require.Error(t, err)
	assert.DirExists(t, s.Path(), "nothing is moved aside")
}

func TestConcurrentUpdatesLoseNoUpdate(t *testing.T) {
	dir := t.TempDir()
	const graders, runs = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, graders*runs)
	for g := range graders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := NewStore(dir) // each goroutine is a separate grader
			for r := range runs {
				_, err := s.Update(func(b *Book) {
					b.Lab("01-alpha").Record(g*100+r, true, t0, fmt.Sprintf("g%d-r%d", g, r))
					b.Lab(fmt.Sprintf("lab-%d", g)).SawHint(1, r+1)
				})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	b, notices, err := NewStore(dir).Load()
	require.NoError(t, err)
	assert.Empty(t, notices)
	parts := b.Peek("01-alpha").Parts
	assert.Len(t, parts, graders*runs)
	for g := range graders {
		for r := range runs {
			p := parts[g*100+r]
			if assert.NotNil(t, p, "grader %d run %d was lost", g, r) {
				assert.Equal(t, fmt.Sprintf("g%d-r%d", g, r), p.PassedHash)
			}
		}
		assert.Equal(t, runs, b.Peek(fmt.Sprintf("lab-%d", g)).HintsSeen(1))
	}
}

func TestBookRecordsKeepLatestPassAndMostHints(t *testing.T) {
	var b Book
	assert.Nil(t, b.Peek("01-alpha"))
	var none *Lab
	assert.Nil(t, none.Part(1), "a lab without records has no parts")
	assert.Equal(t, 0, none.HintsSeen(1))

	l := b.Lab("01-alpha")
	assert.Same(t, l, b.Lab("01-alpha"))
	assert.Same(t, l, b.Peek("01-alpha"))
	assert.Nil(t, l.Part(1))

	l.Record(1, true, t0, "first")
	l.Record(1, false, t1, "broken")
	p := l.Part(1)
	assert.Equal(t, Failed, p.Last)
	assert.Equal(t, t1, p.LastRun)
	assert.Equal(t, t0, p.PassedAt, "a failure keeps the last pass")
	assert.Equal(t, "first", p.PassedHash)

	l.Record(1, true, t1, "second")
	assert.Equal(t, Passed, p.Last)
	assert.Equal(t, t1, p.PassedAt)
	assert.Equal(t, "second", p.PassedHash)

	l.SawHint(1, 2)
	l.SawHint(1, 1)
	assert.Equal(t, 2, l.HintsSeen(1), "seeing an earlier hint again does not lower the count")
	l.SawHint(1, 3)
	assert.Equal(t, 3, l.HintsSeen(1))
	assert.Equal(t, 0, l.HintsSeen(2))
}
