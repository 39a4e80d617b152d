package observability

// How the parts fit together, given. Instrument wraps a service's routes in
// what parts 1 to 3 build; cmd/demo and the tests use it, so your code runs
// the way it will run for real.

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The names of the metrics of part 1. Dashboards, alerts and the tests
// read these names, so a service must use them as they are.
const (
	RequestsTotal   = "http_requests_total"           // counter: route, method, status
	RequestDuration = "http_request_duration_seconds" // histogram: route, method
	InFlight        = "http_requests_in_flight"       // gauge, no labels
)

// LatencyObjective is the shop's promise on latency: 99 % of requests are
// answered within it.
const LatencyObjective = 300 * time.Millisecond

// TracerName names this lab's instrumentation in every span it makes.
const TracerName = "github.com/distlings/distlings/labs/06-observability"

// RequestIDHeader carries a request's id between a client and a service.
const RequestIDHeader = "X-Request-Id"

// Telemetry is where a service sends what it observes.
type Telemetry struct {
	Service    string                        // "checkout" or "payments"
	Registry   prometheus.Registerer         // part 1
	Clock      func() time.Time              // times requests for part 1; nil means time.Now
	Tracer     trace.TracerProvider          // part 2
	Propagator propagation.TextMapPropagator // part 2
	Log        *slog.Logger                  // part 3: already made with NewLogHandler
}

// Instrument wraps routes, outermost first, in a request id (part 3), a
// server span (part 2), an access log line (part 3) and the RED metrics
// (part 1).
func Instrument(t Telemetry, routes *http.ServeMux) http.Handler {
	clock := t.Clock
	if clock == nil {
		clock = time.Now
	}
	var h http.Handler = recordRoute(routes)
	h = NewMetrics(t.Registry, clock).Handler(h)
	h = AccessLog(t.Log, h)
	h = TraceServer(t.Tracer, t.Propagator, h)
	h = RequestID(h)
	return withRouteSlot(h)
}

// TracedClient is the HTTP client checkout calls payments with.
func TracedClient(t Telemetry) *http.Client {
	return &http.Client{Transport: TraceClient(t.Tracer, t.Propagator, http.DefaultTransport), Timeout: 5 * time.Second}
}

type routeSlot struct{ route string }

type routeKey struct{}

// RouteOf returns the route that served r, such as "/orders/{id}": the
// pattern the service's mux matched, without its method. It is "" until
// the routes have run, and for a request no route matched (a 404 or 405).
// Any middleware that Instrument puts around the routes may call it once
// next.ServeHTTP has returned.
func RouteOf(r *http.Request) string {
	if s, ok := r.Context().Value(routeKey{}).(*routeSlot); ok {
		return s.route
	}
	return ""
}

func withRouteSlot(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(routeKey{}).(*routeSlot); !ok {
			r = r.WithContext(context.WithValue(r.Context(), routeKey{}, &routeSlot{}))
		}
		next.ServeHTTP(w, r)
	})
}

// recordRoute notes the pattern mux matched where RouteOf finds it. The
// mux sets r.Pattern on the request it is given, which the middleware
// above it cannot see, since each one passes on a copy; reading it once
// the mux is done (a panic too) spares matching the route twice.
func recordRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			s, ok := r.Context().Value(routeKey{}).(*routeSlot)
			if !ok || r.Pattern == "" {
				return
			}
			pattern := r.Pattern
			if i := strings.IndexByte(pattern, ' '); i >= 0 {
				pattern = pattern[i+1:]
			}
			if i := strings.IndexByte(pattern, '/'); i > 0 {
				pattern = pattern[i:] // a host in the pattern is not part of the route
			}
			s.route = pattern
		}()
		mux.ServeHTTP(w, r)
	})
}

// Service is the whole of one service as it runs: its instrumented routes,
// with /livez and /readyz from health (part 4) and /metrics from gatherer
// beside them, neither counted nor traced.
func Service(t Telemetry, routes *http.ServeMux, health *Health, gatherer prometheus.Gatherer) http.Handler {
	top := http.NewServeMux()
	top.Handle("GET /livez", health.Live())
	top.Handle("GET /readyz", health.Ready())
	top.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	top.Handle("/", Instrument(t, routes))
	return top
}

// StatusWriter passes a response on to the ResponseWriter it wraps, and
// remembers its status, for middleware that reports how a request ended.
type StatusWriter struct {
	http.ResponseWriter
	code int
}

// NewStatusWriter wraps w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter { return &StatusWriter{ResponseWriter: w} }

// WriteHeader sends the status. Only the first one reaches the client.
func (w *StatusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write sends part of the body; a Write before any WriteHeader answers 200.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Status is the status the client got: 200 if the handler wrote nothing.
func (w *StatusWriter) Status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
