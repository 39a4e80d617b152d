//go:build linux

package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary is also the program some tests run: with envAllocate
// set, it allocates until it cannot.
const envAllocate = "PROC_TEST_ALLOCATE"

func TestMain(m *testing.M) {
	if os.Getenv(envAllocate) != "" {
		var kept [][]byte
		for {
			b := make([]byte, 1<<20)
			b[0] = 1
			kept = append(kept, b)
		}
	}
	os.Exit(m.Run())
}

func sh(script string) Spec { return Spec{Path: "/bin/sh", Args: []string{"-c", script}} }

func TestExitStatusAndSignalAreNamed(t *testing.T) {
	e := Run(context.Background(), sh("exit 3"))
	assert.True(t, e.Started)
	assert.Equal(t, 3, e.Code)
	assert.False(t, e.Success())
	assert.Equal(t, "exited with status 3", e.String())

	e = Run(context.Background(), sh("kill -KILL $$"))
	assert.Equal(t, "SIGKILL", e.Signal)
	assert.Equal(t, "killed by SIGKILL", e.String())

	assert.True(t, Run(context.Background(), sh("exit 0")).Success())
}

func TestAProgramThatCannotStartSaysWhy(t *testing.T) {
	e := Run(context.Background(), Spec{Path: "/no/such/program"})
	assert.False(t, e.Success())
	require.Error(t, e.Err)
	assert.Contains(t, e.Err.Error(), "no such file")
}

func TestTimeoutStopsTheProgramAndWhatItStarted(t *testing.T) {
	dir := t.TempDir()
	s := sh("sleep 600 & echo $! > child.pid; sleep 600")
	s.Dir, s.Timeout = dir, time.Second
	p := Start(context.Background(), s)
	waitFor(t, filepath.Join(dir, "child.pid"))
	e := p.Wait()
	assert.True(t, e.TimedOut)
	assert.Equal(t, "stopped: out of time", e.String())
	assertGone(t, filepath.Join(dir, "child.pid"))
}

func TestWhatTheProgramLeftRunningIsKilled(t *testing.T) {
	dir := t.TempDir()
	// One child stays in the process group; the other leaves it and
	// keeps the output open.
	s := sh("sleep 600 & echo $! > stays.pid; setsid sleep 600 & echo $! > leaves.pid")
	var out bytes.Buffer
	s.Dir, s.Stdout = dir, &out
	e := Run(context.Background(), s)
	assert.True(t, e.Success(), e.String())
	assert.True(t, e.Leftovers)
	assertGone(t, filepath.Join(dir, "stays.pid"))
	assertGone(t, filepath.Join(dir, "leaves.pid"))
}

func TestMemoryLimitStopsUnboundedAllocation(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	var stderr bytes.Buffer
	s := Spec{
		Path: self, Env: append(os.Environ(), envAllocate+"=1"),
		Stderr: &limited{buf: &stderr}, MemoryLimit: 128 << 20, Race: raceOn,
	}
	e := Run(context.Background(), s)
	assert.False(t, e.Success())
	// The Go runtime says so, or under the race detector its allocator.
	assert.Regexp(t, `out of memory|ThreadSanitizer failed to allocate`, stderr.String())
	assert.Less(t, e.MaxRSS, dataLimit(s), "the limit held")
}

func TestKillStopsTheProgram(t *testing.T) {
	p := Start(context.Background(), sh("sleep 600"))
	p.Kill()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the program did not end after Kill")
	}
	assert.False(t, p.Wait().Success())
}

// waitFor waits, up to a deadline, for a file to be written.
func waitFor(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if data, err := os.ReadFile(path); err == nil && bytes.HasSuffix(data, []byte("\n")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not written within 10s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertGone checks that the process whose pid the file holds has ended,
// allowing a few seconds for the kill to land.
func assertGone(t *testing.T, pidFile string) {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d is still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// limited keeps the first 64 KiB written: a crash dump is long.
type limited struct{ buf *bytes.Buffer }

func (l *limited) Write(b []byte) (int, error) {
	if room := 64<<10 - l.buf.Len(); room > 0 {
		l.buf.Write(b[:min(room, len(b))])
	}
	return len(b), nil
}

func TestTheReportIsNotThePrograms(t *testing.T) {
	var out bytes.Buffer
	s := sh(`echo '{"pid":999999,"final":true,"code":0}' >&3 && echo wrote`)
	s.Stdout, s.Stderr = &out, &out
	e := Run(context.Background(), s)
	assert.NotContains(t, out.String(), "wrote", "fd 3 is closed for the program")
	assert.False(t, e.Success())
}

func TestADeepChainOfEscapedProcessesIsKilled(t *testing.T) {
	dir := t.TempDir()
	// Each level starts the next in a session of its own, then sleeps.
	script := filepath.Join(dir, "chain.sh")
	require.NoError(t, os.WriteFile(script, []byte(`n=$1
echo $$ >> pids
if [ "$n" -gt 0 ]; then setsid /bin/sh chain.sh $((n-1)) </dev/null >/dev/null 2>&1 & fi
if [ "$n" -eq 0 ]; then echo done > done; fi
exec sleep 600
`), 0o644))
	s := sh("/bin/sh chain.sh 150 & while [ ! -f done ]; do sleep 0.01; done")
	s.Dir = dir
	e := Run(context.Background(), s)
	assert.True(t, e.Leftovers)
	data, err := os.ReadFile(filepath.Join(dir, "pids"))
	require.NoError(t, err)
	pids := strings.Fields(string(data))
	require.Len(t, pids, 151)
	for _, p := range pids {
		pid, _ := strconv.Atoi(p)
		assert.False(t, running(pid), "process %d of the chain survived", pid)
	}
}
