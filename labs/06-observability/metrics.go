package observability

// RED metrics: part 1. You write this file.
//
// The API the tests use (keep these names and signatures):
//
//	NewMetrics(reg prometheus.Registerer, clock func() time.Time) *Metrics
//	(*Metrics).Handler(next http.Handler) http.Handler
//
// Every request the handler serves counts in three metrics, named in
// telemetry.go:
//
//	http_requests_total{route, method, status}   a counter
//	http_request_duration_seconds{route, method} a histogram
//	http_requests_in_flight                      a gauge
//
// route is the route that served the request (RouteOf), method its HTTP
// method, and status the class of its answer: "2xx", "4xx", "5xx" ...
// A request's duration is measured with clock.

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts and times the requests of one service.
type Metrics struct {
	clock func() time.Time

	// TODO(part 1): the three metrics.
}

// NewMetrics makes the service's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer, clock func() time.Time) *Metrics {
	// TODO(part 1)
	return &Metrics{clock: clock}
}

// Handler returns next, with every request it serves counted and timed.
func (m *Metrics) Handler(next http.Handler) http.Handler {
	// TODO(part 1)
	return next
}
