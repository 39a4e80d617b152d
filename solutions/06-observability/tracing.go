//go:build solution

package observability

// Tracing across two services: part 2, the reference solution.

import (
	"net"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// TraceServer returns next, with a server span around every request it
// serves.
func TraceServer(tp trace.TracerProvider, prop propagation.TextMapPropagator, next http.Handler) http.Handler {
	tracer := tp.Tracer(TracerName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The caller's span, if it sent one, is this span's parent: that
		// is what makes one trace of two services.
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		ctx, span := tracer.Start(ctx, r.Method,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				semconv.HTTPRequestMethodKey.String(r.Method),
				semconv.URLPath(r.URL.Path),
				semconv.URLScheme(scheme),
			))
		defer span.End()

		sw := NewStatusWriter(w)
		next.ServeHTTP(sw, r.WithContext(ctx))

		// The route is known only once the mux has run; the span's name
		// uses it rather than the path, which would make a name per id.
		if route := RouteOf(r); route != "" {
			span.SetName(r.Method + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
		}
		code := sw.Status()
		span.SetAttributes(semconv.HTTPResponseStatusCode(code))
		if code >= 500 {
			// A 4xx is the client's mistake, not the server's failure.
			span.SetStatus(codes.Error, http.StatusText(code))
		}
	})
}

// TraceClient returns a RoundTripper that sends each request through base,
// with a client span around it.
func TraceClient(tp trace.TracerProvider, prop propagation.TextMapPropagator, base http.RoundTripper) http.RoundTripper {
	return &tracingTransport{tracer: tp.Tracer(TracerName), prop: prop, base: base}
}

type tracingTransport struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	base   http.RoundTripper
}

func (t *tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(req.Method),
		semconv.URLFull(req.URL.String()),
	}
	if host, port, err := net.SplitHostPort(req.URL.Host); err == nil {
		attrs = append(attrs, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p))
		}
	} else {
		attrs = append(attrs, semconv.ServerAddress(req.URL.Hostname()))
	}
	ctx, span := t.tracer.Start(req.Context(), req.Method,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()

	// A RoundTripper must not change the caller's request: send a copy
	// that carries this span, so that the callee's span is its child.
	out := req.Clone(ctx)
	t.prop.Inject(ctx, propagation.HeaderCarrier(out.Header))
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	if resp.StatusCode >= 400 {
		// For the caller, any answer that is not a success failed.
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
	}
	return resp, nil
}
