package observability

// Tracing across two services: part 2. You write this file.
//
// The API the tests use (keep these names and signatures):
//
//	TraceServer(tp trace.TracerProvider, prop propagation.TextMapPropagator, next http.Handler) http.Handler
//	TraceClient(tp trace.TracerProvider, prop propagation.TextMapPropagator, base http.RoundTripper) http.RoundTripper
//
// A span is one step of the work, with its start, end, outcome and
// attributes; a trace is the tree of spans of one request, across every
// service it reached. Each request a service serves gets a server span,
// and each request it sends gets a client span. The spans are made with
// tp's tracer named TracerName, and carried from service to service in
// the headers that prop reads and writes (W3C Trace Context:
// "traceparent"). Their attributes follow OpenTelemetry's semantic
// conventions for HTTP (go.opentelemetry.io/otel/semconv/v1.40.0 has the
// keys).

import (
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TraceServer returns next, with a server span around every request it
// serves.
func TraceServer(tp trace.TracerProvider, prop propagation.TextMapPropagator, next http.Handler) http.Handler {
	// TODO(part 2)
	return next
}

// TraceClient returns a RoundTripper that sends each request through base,
// with a client span around it.
func TraceClient(tp trace.TracerProvider, prop propagation.TextMapPropagator, base http.RoundTripper) http.RoundTripper {
	// TODO(part 2)
	return base
}
