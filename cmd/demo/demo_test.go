package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFlagsAreCheckedAndPassedOn(t *testing.T) {
	var stderr bytes.Buffer
	for _, bad := range [][]string{{"-fail", "2"}, {"-decline", "-0.1"}, {"-load", "-1"}, {"extra"}} {
		_, _, err := parse(bad, &stderr)
		assert.Error(t, err, "demo %v must be refused", bad)
	}
	cfg, child, err := parse([]string{"-reference", "-load", "7", "-otlp", "jaeger:4317"}, &stderr)
	require.NoError(t, err)
	assert.True(t, cfg.reference)
	assert.Equal(t, 7.0, cfg.load)
	assert.ElementsMatch(t, []string{"-load=7", "-otlp=jaeger:4317"}, child,
		"the run on the reference solution gets every flag but -reference, or it would build itself again")
	assert.Equal(t, exitUsage, run([]string{"-fail", "2"}, io.Discard, io.Discard), "bad flags exit with the usage code")
}

func TestReferenceBuildReplacesEveryStub(t *testing.T) {
	wb, err := catalog.FindWorkbook(".")
	require.NoError(t, err)
	data, err := catalog.SolutionOverlay(wb.Root, labDir)
	require.NoError(t, err)
	var overlay struct{ Replace map[string]string }
	require.NoError(t, json.Unmarshal(data, &overlay))
	root, _ := filepath.Abs(wb.Root)
	for _, stub := range []string{"metrics.go", "tracing.go", "logging.go", "health.go"} {
		assert.Equal(t, filepath.Join(root, "solutions", labDir, stub), overlay.Replace[filepath.Join(root, "labs", labDir, stub)],
			"-reference must build the solution's %s in place of the learner's", stub)
	}
	assert.Equal(t, []string{"build", "-tags", "solution", "-overlay", "O", "-o", "B", "./cmd/demo"}, buildArgs("O", "B"))
}

// syncBuffer is a log sink for the services, safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// until polls cond for up to 10 seconds: the services run on real time.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			require.Fail(t, "timed out", "waited 10s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func post(url, body string) int {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// The demo works on whatever the lab's files hold: the stubs serve the
// shop uninstrumented, and a Serve that never returns is reported, not
// waited for.
func TestTheDemoServesOrdersFollowsChaosAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := config{checkout: "127.0.0.1:0", payments: "127.0.0.1:0", load: 200, grace: 100 * time.Millisecond, stuck: 500 * time.Millisecond}
	d, err := start(ctx, cfg, &syncBuffer{})
	require.NoError(t, err)
	until(t, "the load generator's first orders", func() bool { return d.load.ok.Load() >= 5 })

	order := `{"id":"by-hand","user":"u","amount_cents":100}`
	assert.Equal(t, http.StatusCreated, post(d.checkoutURL+"/checkout", order), "an order goes through while payments is up")
	require.Equal(t, http.StatusOK, post(d.paymentsURL+"/chaos/down", ""))
	assert.Equal(t, http.StatusBadGateway, post(d.checkoutURL+"/checkout", order), "payments is down: checkout answers 502")
	require.Equal(t, http.StatusOK, post(d.paymentsURL+"/chaos/up", ""))
	assert.Equal(t, http.StatusCreated, post(d.checkoutURL+"/checkout", order), "payments is back")

	cancel()
	done := make(chan error, 1)
	go func() { done <- d.wait() }()
	select {
	case err := <-done:
		if err != nil {
			assert.Contains(t, err.Error(), "part 4", "the only way the demo may fail to stop cleanly is a Serve that is not done yet")
		}
	case <-time.After(10 * time.Second):
		require.Fail(t, "the demo did not stop within 10s of its context ending")
	}
}
