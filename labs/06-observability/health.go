package observability

// Health checks and a graceful shutdown: part 4. You write this file.
//
// The API the tests use (keep these names and signatures):
//
//	NewHealth(timeout time.Duration, checks ...Check) *Health
//	(*Health).Live() http.Handler
//	(*Health).Ready() http.Handler
//	(*Health).Drain()
//	Serve(ctx context.Context, ln net.Listener, handler http.Handler, h *Health, grace time.Duration) error
//
// An orchestrator (Kubernetes, a load balancer, systemd) asks a service
// two questions. Live: is this process working, or should it be
// restarted? Ready: should requests be sent here now? Both answer 200
// for yes and 503 for no, with a short reason in the body.

import (
	"context"
	"net"
	"net/http"
	"time"
)

// Check is one dependency that readiness depends on.
type Check struct {
	Name  string                          // "payments"
	Probe func(ctx context.Context) error // nil when the dependency is usable
}

// Health answers a service's liveness and readiness.
type Health struct {
	timeout time.Duration
	checks  []Check

	// TODO(part 4): what else Health keeps.
}

// NewHealth returns the health of a service that needs checks to be ready.
// timeout bounds how long readiness waits for a check to answer.
func NewHealth(timeout time.Duration, checks ...Check) *Health {
	// TODO(part 4)
	return &Health{timeout: timeout, checks: checks}
}

// Live answers whether the process should be left running.
func (h *Health) Live() http.Handler {
	// TODO(part 4)
	return http.NotFoundHandler()
}

// Ready answers whether the service should be sent requests.
func (h *Health) Ready() http.Handler {
	// TODO(part 4)
	return http.NotFoundHandler()
}

// Drain tells readiness that the service is shutting down.
func (h *Health) Drain() {
	// TODO(part 4)
}

// Serve serves handler on ln until ctx ends, then shuts down gracefully:
// it lets the requests in flight finish, giving them at most grace, and
// returns once they have.
func Serve(ctx context.Context, ln net.Listener, handler http.Handler, h *Health, grace time.Duration) error {
	// TODO(part 4)
	return http.Serve(ln, handler)
}
