//go:build solution

package observability

// RED metrics: part 1, the reference solution.

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts and times the requests of one service.
type Metrics struct {
	clock    func() time.Time
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// latencyBuckets resolve the shop's latencies, from a few milliseconds to
// its client timeout, with a boundary at LatencyObjective so that "how many
// requests met the objective" is a bucket, not an estimate.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .2, LatencyObjective.Seconds(), .5, 1, 2.5, 5}

// NewMetrics makes the service's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer, clock func() time.Time) *Metrics {
	m := &Metrics{
		clock: clock,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RequestsTotal,
			Help: "Requests served, by route, method and status class.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    RequestDuration,
			Help:    "How long requests took to serve, in seconds.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: InFlight,
			Help: "Requests being served now.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight)
	return m
}

// Handler returns next, with every request it serves counted and timed.
func (m *Metrics) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		defer m.inFlight.Dec() // a handler that panics is no longer in flight either
		start := m.clock()
		sw := NewStatusWriter(w)
		next.ServeHTTP(sw, r)
		route, method := RouteOf(r), methodLabel(r.Method)
		m.requests.WithLabelValues(route, method, statusClass(sw.Status())).Inc()
		m.duration.WithLabelValues(route, method).Observe(m.clock().Sub(start).Seconds())
	})
}

// methodLabel keeps the method label bounded: a client may send any token
// as a method, and each would be a new series.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "_OTHER"
}

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "unknown"
	}
	return strconv.Itoa(code/100) + "xx"
}
