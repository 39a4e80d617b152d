//go:build solution

package observability

// Health checks and a graceful shutdown: part 4, the reference solution.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Check is one dependency that readiness depends on.
type Check struct {
	Name  string                          // "payments"
	Probe func(ctx context.Context) error // nil when the dependency is usable
}

// Health answers a service's liveness and readiness.
type Health struct {
	timeout  time.Duration
	checks   []Check
	draining atomic.Bool
}

// NewHealth returns the health of a service that needs checks to be ready.
// timeout bounds how long readiness waits for a check to answer.
func NewHealth(timeout time.Duration, checks ...Check) *Health {
	return &Health{timeout: timeout, checks: checks}
}

// Live answers whether the process should be left running. It asks no
// dependency: a restart would not bring payments back, and restarting
// every checkout at once while payments is down makes things worse.
func (h *Health) Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
}

// Ready answers whether the service should be sent requests. It asks the
// checks each time, so that it follows a dependency down and back up.
func (h *Health) Ready() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.draining.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
		defer cancel()
		for _, c := range h.checks {
			if err := probe(ctx, c); err != nil {
				http.Error(w, c.Name+": "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
}

// probe runs one check, and stops waiting for it when ctx ends even if
// the check itself does not watch ctx.
func probe(ctx context.Context, c Check) error {
	done := make(chan error, 1)
	go func() { done <- c.Probe(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within the readiness timeout: %w", ctx.Err())
	}
}

// Drain tells readiness that the service is shutting down.
func (h *Health) Drain() { h.draining.Store(true) }

// Serve serves handler on ln until ctx ends, then shuts down gracefully:
// it lets the requests in flight finish, giving them at most grace, and
// returns once they have.
func Serve(ctx context.Context, ln net.Listener, handler http.Handler, h *Health, grace time.Duration) error {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err // the listener failed before anyone asked us to stop
	case <-ctx.Done():
	}
	h.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	// Shutdown closes the listener, so Serve returns at once, but the
	// requests in flight are done only when Shutdown returns.
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close() // out of grace: cut what is left
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
