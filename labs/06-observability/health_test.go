package observability

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ask calls a health handler in-process and returns its status and body.
func ask(h http.Handler) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

// dependency is a check whose answer the test sets.
type dependency struct{ down atomic.Bool }

func (d *dependency) check() Check {
	return Check{Name: "payments", Probe: func(ctx context.Context) error {
		if d.down.Load() {
			return errors.New("connection refused")
		}
		return nil
	}}
}

func TestLivenessDoesNotDependOnDependencies(t *testing.T) {
	var payments dependency
	h := NewHealth(time.Second, payments.check())
	code, body := ask(h.Live())
	require.Equal(t, http.StatusOK, code, "the process is fine: /livez answers 200 (it answered %d %q)", code, body)
	payments.down.Store(true)
	code, body = ask(h.Live())
	assert.Equal(t, http.StatusOK, code,
		"payments is down and /livez answered %d %q: liveness says whether to restart this process, and restarting checkout does not bring payments back; it only turns one outage into two", code, body)
	code, _ = ask(h.Ready())
	assert.Equal(t, http.StatusServiceUnavailable, code, "payments is down: /readyz answers 503")
}

func TestReadinessFollowsADependencyDownAndBack(t *testing.T) {
	var payments, bank dependency
	h := NewHealth(time.Second, payments.check(), Check{Name: "bank", Probe: bank.check().Probe})
	for i, down := range []bool{false, true, false, true, true, false} {
		payments.down.Store(down)
		code, body := ask(h.Ready())
		if down {
			require.Equal(t, http.StatusServiceUnavailable, code, "step %d: payments is down, and /readyz answered %d %q: a checkout that cannot charge should not be sent orders", i, code, body)
			require.Contains(t, body, "payments", "step %d: /readyz's answer names the dependency that failed, so that whoever is paged knows where to look", i)
		} else {
			require.Equal(t, http.StatusOK, code,
				"step %d: payments is up, and /readyz answered %d %q: readiness that does not recover takes a healthy service out of the load balancer for good; ask the dependency each time", i, code, body)
		}
	}
	// Every check counts, not only the first or the last.
	payments.down.Store(false)
	bank.down.Store(true)
	code, body := ask(h.Ready())
	assert.Equal(t, http.StatusServiceUnavailable, code, "payments is up but the bank, the second check, is down, and /readyz answered %d %q: the service is ready only when every check passes", code, body)
	assert.Contains(t, body, "bank", "/readyz names the check that failed")
	payments.down.Store(true)
	bank.down.Store(false)
	code, body = ask(h.Ready())
	assert.Equal(t, http.StatusServiceUnavailable, code, "payments, the first check, is down and the bank is up, and /readyz answered %d %q: every check counts", code, body)
}

// hangingServer accepts connections and never answers.
func hangingServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String()
}

func TestReadinessAnswersInTimeWhenADependencyHangs(t *testing.T) {
	client := &http.Client{} // no timeout of its own: readiness must bring one
	t.Cleanup(client.CloseIdleConnections)
	h := NewHealth(100*time.Millisecond, Check{Name: "payments", Probe: PaymentsProbe(client, hangingServer(t))})
	answered := make(chan [2]any, 1)
	go func() {
		code, body := ask(h.Ready())
		answered <- [2]any{code, body}
	}()
	wait(t, answered, "payments accepted the connection and never answered")

	// A check that ignores its context (a library call that takes none)
	// must not hold readiness up either.
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	h = NewHealth(100*time.Millisecond, Check{Name: "payments", Probe: func(context.Context) error { <-stuck; return nil }})
	go func() {
		code, body := ask(h.Ready())
		answered <- [2]any{code, body}
	}()
	wait(t, answered, "the payments check ignores its context and never returns")

	// Readiness is asked for the whole life of the service: once one
	// answer has used up its timeout, the next has a timeout of its own.
	var hang atomic.Bool
	hang.Store(true)
	h = NewHealth(100*time.Millisecond, Check{Name: "payments", Probe: func(ctx context.Context) error {
		if hang.Load() {
			<-ctx.Done()
		}
		return ctx.Err()
	}})
	go func() {
		code, body := ask(h.Ready())
		answered <- [2]any{code, body}
	}()
	wait(t, answered, "the payments check does not answer")
	hang.Store(false)
	code, body := ask(h.Ready())
	assert.Equal(t, http.StatusOK, code,
		"payments answers again, and /readyz answered %d %q; the answer before it took the whole timeout of 100ms: the timeout bounds each answer, it does not start in NewHealth", code, body)
}

func wait(t *testing.T, answered chan [2]any, what string) {
	t.Helper()
	select {
	case got := <-answered:
		assert.Equal(t, http.StatusServiceUnavailable, got[0], "%s: /readyz answers 503, %q", what, got[1])
		assert.Contains(t, got[1], "payments", "the answer names the dependency that did not answer")
	case <-time.After(5 * time.Second):
		require.Fail(t, "/readyz hangs",
			what+", and /readyz has not answered in 5s (its timeout is 100ms). An orchestrator's probe gives up after a second or so and counts a failure anyway; meanwhile every probe holds a goroutine and a connection. Stop waiting for a check once the timeout NewHealth was given is over, whether or not the check itself stops.")
	}
}

// trackedListener is a loopback listener that tells when it is closed and
// can cut every connection it accepted, as the kernel does when a process
// exits.
type trackedListener struct {
	net.Listener
	closed    chan struct{}
	closeOnce sync.Once
	mu        sync.Mutex
	conns     []*trackedConn
}

// trackedConn tells when it is closed.
type trackedConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func listen(t *testing.T) *trackedListener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := &trackedListener{Listener: ln, closed: make(chan struct{})}
	t.Cleanup(func() { l.Close(); l.exit() })
	return l
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, closed: make(chan struct{})}
	l.mu.Lock()
	l.conns = append(l.conns, tc)
	l.mu.Unlock()
	return tc, nil
}

// last is the connection accepted last.
func (l *trackedListener) last() *trackedConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns[len(l.conns)-1]
}

func (l *trackedListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func (l *trackedListener) exit() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

// running is a service under Serve, with one route that waits until the
// test releases it.
type running struct {
	ln      *trackedListener
	health  *Health
	stop    context.CancelFunc
	done    chan error // Serve's result
	entered chan struct{}
	release chan struct{}
	client  *http.Client
}

func serve(t *testing.T, grace time.Duration) *running {
	r := &running{ln: listen(t), health: NewHealth(time.Second), done: make(chan error, 1),
		entered: make(chan struct{}, 10), release: make(chan struct{})}
	t.Cleanup(func() {
		select {
		case <-r.release:
		default:
			close(r.release)
		}
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, req *http.Request) {
		r.entered <- struct{}{}
		select {
		case <-r.release:
			io.WriteString(w, "done")
		case <-req.Context().Done():
			io.WriteString(w, "its context ended while it was being served")
		}
	})
	mux.HandleFunc("GET /fast", func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, "fast") })
	ctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	t.Cleanup(stop)
	go func() {
		r.done <- Serve(ctx, r.ln, mux, r.health, grace)
		r.ln.exit() // Serve returned: the process exits, and its connections die with it
	}()
	r.client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return r
}

// get sends a request and returns its body, or the error.
func (r *running) get(path string) (string, error) {
	resp, err := r.client.Get("http://" + r.ln.Addr().String() + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// inFlight starts a request to /slow and waits until the handler has it.
func (r *running) inFlight(t *testing.T) chan error {
	answer := make(chan error, 1)
	go func() {
		body, err := r.get("/slow")
		if err == nil && body != "done" {
			err = errors.New("the request was answered, but " + body + ": a shutdown must not cancel the requests it lets finish")
		}
		answer <- err
	}()
	select {
	case <-r.entered:
	case <-time.After(5 * time.Second):
		require.Fail(t, "Serve does not serve", "a request to the service was not handled within 5s")
	}
	return answer
}

// shutDown asks the service to stop, and waits until its listener closes.
func (r *running) shutDown(t *testing.T) {
	r.stop()
	select {
	case <-r.ln.closed:
	case <-time.After(5 * time.Second):
		require.Fail(t, "no shutdown", "ctx ended 5s ago and Serve still listens: when ctx ends, Serve shuts the server down (http.Server.Shutdown)")
	}
}

func (r *running) result(t *testing.T, within time.Duration, why string) error {
	select {
	case err := <-r.done:
		return err
	case <-time.After(within):
		require.Fail(t, "Serve did not return", why)
		return nil
	}
}

func TestShutdownLetsRequestsInFlightFinish(t *testing.T) {
	t.Parallel()
	r := serve(t, 10*time.Second)
	body, err := r.get("/fast")
	require.NoError(t, err, "the service answers before it is asked to stop")
	require.Equal(t, "fast", body)
	answer := r.inFlight(t)
	conn := r.ln.last()
	r.shutDown(t)
	// A server that cuts the connections in flight does so right after it
	// closes its listener: give it the time to, then let the request end.
	select {
	case <-conn.closed:
	case <-time.After(300 * time.Millisecond):
	}
	close(r.release)
	assert.NoError(t, <-answer,
		"a request was being served when the service was asked to stop, and it never got its answer: a graceful shutdown stops taking new requests and lets the ones in flight finish (http.Server.Shutdown, not Close)")
	assert.NoError(t, r.result(t, 5*time.Second, "the last request was answered 5s ago, and Serve has not returned"))
}

func TestTheGraceCountsFromTheShutdown(t *testing.T) {
	t.Parallel()
	r := serve(t, 300*time.Millisecond)
	// The service has been up longer than its grace when it is asked to
	// stop. This waits for no event: time itself must pass, and
	// http.Server's shutdown runs on the real clock.
	time.Sleep(500 * time.Millisecond)
	answer := r.inFlight(t)
	conn := r.ln.last()
	r.shutDown(t)
	select {
	case <-conn.closed:
	case <-time.After(150 * time.Millisecond):
	}
	close(r.release)
	assert.NoError(t, <-answer,
		"the service had run for 500ms, with a grace of 300ms, and its shutdown cut the request in flight at once: the grace counts from the moment the shutdown begins, not from the start of Serve")
}

func TestServeReportsAListenerThatFails(t *testing.T) {
	t.Parallel()
	ln := listen(t)
	ln.Close()
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), ln, http.NotFoundHandler(), NewHealth(time.Second), time.Second)
	}()
	select {
	case err := <-done:
		assert.Error(t, err, "Serve was given a listener that is closed, and returned nil: a service that cannot serve must say so, or it runs on, serving nothing")
	case <-time.After(5 * time.Second):
		require.Fail(t, "Serve hangs", "Serve was given a listener that is closed, and has not returned in 5s: a service that cannot serve must say so (return the error), or it runs on, serving nothing")
	}
	r := serve(t, time.Second)
	body, err := r.get("/fast")
	require.NoError(t, err, "Serve serves on a listener that works")
	require.Equal(t, "fast", body)
	r.stop()
	assert.NoError(t, r.result(t, 5*time.Second, "ctx ended 5s ago and Serve has not returned, with no request in flight"))
}

func TestShutdownStopsTakingNewRequests(t *testing.T) {
	t.Parallel()
	r := serve(t, 10*time.Second)
	answer := r.inFlight(t)
	r.shutDown(t)
	_, err := r.get("/fast")
	assert.Error(t, err, "the service is shutting down, and it still took a new request: once ctx ends, it takes none (the load balancer sends them elsewhere)")
	close(r.release)
	assert.NoError(t, <-answer, "the request in flight finishes")
	assert.NoError(t, r.result(t, 5*time.Second, "the last request was answered 5s ago, and Serve has not returned"),
		"a shutdown that went as planned is not an error: Serve returns nil")
}

func TestReadinessSaysNoWhileDraining(t *testing.T) {
	t.Parallel()
	r := serve(t, 10*time.Second)
	code, _ := ask(r.health.Ready())
	require.Equal(t, http.StatusOK, code, "before the shutdown, the service is ready")
	answer := r.inFlight(t)
	r.shutDown(t)
	code, body := ask(r.health.Ready())
	assert.Equal(t, http.StatusServiceUnavailable, code,
		"the service is shutting down and /readyz answers %d %q: it must say no from the moment the shutdown begins (Drain), so that no more requests are sent its way", code, body)
	code, _ = ask(r.health.Live())
	assert.Equal(t, http.StatusOK, code, "a service that is draining is still alive: killing it would cut the requests it is finishing")
	close(r.release)
	<-answer
}

func TestServeReturnsOnlyOnceTheLastAnswerIsSent(t *testing.T) {
	t.Parallel()
	r := serve(t, 10*time.Second)
	answer := r.inFlight(t)
	r.shutDown(t)
	// The listener is closed, so http.Server.Serve has returned. A Serve
	// that returns now, with a request still in flight, ends the process
	// (the harness closes every connection, as the kernel would) and cuts
	// that request. Give it the time to, then let the request finish.
	select {
	case <-r.done:
		close(r.release)
		require.Fail(t, "Serve returned early",
			"Serve returned while a request was still being served. When a program's Serve returns, main returns and the process exits, cutting that request: http.Server.Serve returns as soon as Shutdown closes the listener, and only Shutdown's return says the requests in flight are done. Wait for it.")
	case <-time.After(300 * time.Millisecond):
	}
	close(r.release)
	assert.NoError(t, <-answer, "the request in flight gets its answer")
	assert.NoError(t, r.result(t, 5*time.Second, "the last request was answered 5s ago, and Serve has not returned"))
}

func TestShutdownGivesUpAfterItsGrace(t *testing.T) {
	t.Parallel()
	r := serve(t, 200*time.Millisecond)
	answer := r.inFlight(t) // never released
	r.shutDown(t)
	r.result(t, 5*time.Second,
		"a request has been stuck for 5s, and Serve, given 200ms of grace, still waits for it: a shutdown must end; after its grace, close what is left (http.Server.Close) and return, or the orchestrator kills the process without its cleanup")
	select {
	case err := <-answer:
		assert.Error(t, err, "the stuck request is cut once the grace is over")
	case <-time.After(5 * time.Second):
		assert.Fail(t, "the stuck request's connection is still open 5s after Serve returned")
	}
}
