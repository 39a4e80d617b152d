package observability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// traced is a service with part 2's server spans and nothing else.
func traced(t *testing.T, status int) (http.Handler, spansOf) {
	tp, rec, prop := tracing(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "no WriteHeader before this") })
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("the handler failed") })
	return withRouteSlot(TraceServer(tp, prop, recordRoute(mux))), func() []sdktrace.ReadOnlySpan { return rec.Ended() }
}

type spansOf func() []sdktrace.ReadOnlySpan

// only returns the one span ended so far, failing if there is not one.
func (s spansOf) only(t *testing.T, what string) sdktrace.ReadOnlySpan {
	t.Helper()
	spans := s()
	require.Len(t, spans, 1, "%s makes one span; %d ended: %s", what, len(spans), names(spans))
	return spans[0]
}

func names(spans []sdktrace.ReadOnlySpan) string {
	var out []string
	for _, s := range spans {
		out = append(out, fmt.Sprintf("%q (%s)", s.Name(), s.SpanKind()))
	}
	return "[" + strings.Join(out, ", ") + "]"
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

// replaced names the attributes of older conventions, and what replaced
// them in the stable HTTP conventions.
var replaced = map[attribute.Key]attribute.Key{
	"http.method":      "http.request.method",
	"http.status_code": "http.response.status_code",
	"http.url":         "url.full",
	"http.target":      "url.path",
	"http.scheme":      "url.scheme",
	"net.peer.name":    "server.address",
	"net.peer.port":    "server.port",
	"net.host.name":    "server.address",
}

// hasAttrs checks that span has each of want, naming any key of the older
// conventions it used instead.
func hasAttrs(t *testing.T, span sdktrace.ReadOnlySpan, want map[attribute.Key]any) {
	t.Helper()
	got := attrs(span)
	for old, now := range replaced {
		if _, ok := got[old]; ok {
			assert.Failf(t, "old attribute", "span %q has %q, a name from before OpenTelemetry's HTTP conventions became stable: it is %q now, and backends and dashboards look for that", span.Name(), old, now)
		}
	}
	for k, v := range want {
		g, ok := got[k]
		if !assert.True(t, ok, "span %q has no %q attribute (it has %v): the semantic conventions for HTTP spans require it", span.Name(), k, span.Attributes()) {
			continue
		}
		assert.Equal(t, v, g.AsInterface(), "span %q: attribute %q", span.Name(), k)
	}
}

func TestEachRequestGetsAServerSpan(t *testing.T) {
	h, spans := traced(t, http.StatusOK)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/orders/42?token=s3cret", nil))
	s := spans.only(t, "one request")
	assert.Equal(t, trace.SpanKindServer, s.SpanKind(), "the span of a request a service serves is of kind server")
	assert.Equal(t, "GET /orders/{id}", s.Name(),
		"a server span is named for the method and the route (\"GET /orders/{id}\"), not the path: a name per order id is a name per request, and no one can group those")
	assert.Equal(t, TracerName, s.InstrumentationScope().Name, "spans are made with the tracer named TracerName")
	assert.False(t, s.Parent().IsValid(), "a request that carries no trace context starts a new trace: its span has no parent")
	hasAttrs(t, s, map[attribute.Key]any{
		"http.request.method":       "GET",
		"http.route":                "/orders/{id}",
		"url.path":                  "/orders/42", // the path alone: a query may hold a token
		"url.scheme":                "http",
		"http.response.status_code": int64(200),
	})

	h, spans = traced(t, http.StatusOK)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/plain", nil))
	hasAttrs(t, spans.only(t, "one request"), map[attribute.Key]any{"http.response.status_code": int64(200)})
}

func TestAServiceContinuesTheTraceItIsCalledIn(t *testing.T) {
	h, spans := traced(t, http.StatusOK)
	req := httptest.NewRequest("GET", "/orders/42", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	s := spans.only(t, "one request")
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", s.SpanContext().TraceID().String(),
		"the request came with a traceparent header: its span belongs to the caller's trace, read from the header with the propagator the service was given; a new trace here leaves the caller's trace with a hole in it")
	assert.Equal(t, "00f067aa0ba902b7", s.Parent().SpanID().String(), "the caller's span (from traceparent) is the parent of this request's span")
	assert.True(t, s.Parent().IsRemote(), "the parent span is in another process: remote")
}

func TestServerSpansMarkOnlyTheServersFailures(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   codes.Code
		why    string
	}{
		{200, codes.Unset, "a success leaves the status unset"},
		{402, codes.Unset, "a 4xx is the client's mistake, not the server's failure: an alert on failed server spans must not fire for it"},
		{404, codes.Unset, "a 4xx is the client's mistake, not the server's failure: an alert on failed server spans must not fire for it"},
		{500, codes.Error, "a 5xx is the server's failure: the span's status is Error"},
		{503, codes.Error, "a 5xx is the server's failure: the span's status is Error"},
	} {
		h, spans := traced(t, tc.status)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/orders/1", nil))
		s := spans.only(t, "one request")
		assert.Equal(t, tc.want, s.Status().Code, "a server span of a request answered %d has status %v: %s", tc.status, s.Status().Code, tc.why)
		hasAttrs(t, s, map[attribute.Key]any{"http.response.status_code": int64(tc.status)})
	}
}

// tracedClient sends requests through TraceClient to target, inside a
// parent span, and returns the spans and the parent.
func tracedClient(t *testing.T) (*http.Client, spansOf, context.Context, trace.Span) {
	tp, rec, prop := tracing(t)
	client := &http.Client{Transport: TraceClient(tp, prop, http.DefaultTransport)}
	t.Cleanup(client.CloseIdleConnections)
	ctx, parent := tp.Tracer("test").Start(t.Context(), "parent")
	t.Cleanup(func() { parent.End() })
	return client, func() []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.Name() != "parent" {
				out = append(out, s)
			}
		}
		return out
	}, ctx, parent
}

func TestClientSpansMarkEveryFailedCall(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   codes.Code
	}{{201, codes.Unset}, {402, codes.Error}, {500, codes.Error}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tc.status) }))
		client, spans, ctx, _ := tracedClient(t)
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/charges", nil)
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		srv.Close()
		s := spans.only(t, "one call")
		assert.Equal(t, trace.SpanKindClient, s.SpanKind(), "the span of a request a service sends is of kind client")
		assert.Equal(t, tc.want, s.Status().Code,
			"a client span of a call answered %d has status %v: for the caller any answer from 400 up is a failed call (Error), whatever the server thinks of it", tc.status, s.Status().Code)
	}

	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // payments is down: nothing listens there
	client, spans, ctx, _ := tracedClient(t)
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/charges", nil)
	_, err := client.Do(req)
	require.Error(t, err, "the server is closed: the call must fail")
	s := spans.only(t, "one failed call")
	assert.Equal(t, codes.Error, s.Status().Code, "a call that got no answer failed: its span's status is Error")
	assert.NotEmpty(t, s.Status().Description, "a failed call's span status says why in its description (the error's text)")
	var recorded bool
	for _, e := range s.Events() {
		recorded = recorded || e.Name == "exception"
	}
	assert.True(t, recorded, "the span of a call that failed with %q records that error (span.RecordError): the trace must say why the call failed, not only that it did", err)
}

func TestSpanAttributesFollowTheSemanticConventions(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) }))
	defer srv.Close()
	client, spans, ctx, _ := tracedClient(t)
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/charges?order=7", nil)
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	s := spans.only(t, "one call")
	assert.Equal(t, "POST", s.Name(), "a client span is named for its method alone: the URL has ids in it")
	host, port := strings.TrimPrefix(srv.URL, "http://"), 0
	fmt.Sscanf(host[strings.LastIndexByte(host, ':')+1:], "%d", &port)
	hasAttrs(t, s, map[attribute.Key]any{
		"http.request.method":       "POST",
		"url.full":                  srv.URL + "/charges?order=7",
		"server.address":            "127.0.0.1",
		"server.port":               int64(port),
		"http.response.status_code": int64(201),
	})
}

func TestOneTraceSpansBothServices(t *testing.T) {
	s := newShop(t, nil)
	code, body := s.order(t, "o-1")
	require.Equal(t, http.StatusCreated, code, "checkout answered %d: %s", code, body)

	var checkout, call, payments sdktrace.ReadOnlySpan
	for _, sp := range s.spans.Ended() {
		switch {
		case sp.SpanKind() == trace.SpanKindServer && sp.Name() == "POST /checkout":
			checkout = sp
		case sp.SpanKind() == trace.SpanKindClient:
			call = sp
		case sp.SpanKind() == trace.SpanKindServer && sp.Name() == "POST /charges":
			payments = sp
		}
	}
	all := names(s.spans.Ended())
	require.NotNil(t, checkout, "no server span \"POST /checkout\" among %s", all)
	require.NotNil(t, call, "no client span for checkout's call to payments among %s: checkout's client is made with TraceClient", all)
	require.NotNil(t, payments, "no server span \"POST /charges\" among %s", all)
	assert.Equal(t, checkout.SpanContext().TraceID(), call.SpanContext().TraceID(),
		"the call to payments is part of the checkout's trace; it started a trace of its own. The server span's context must reach the handler (r.WithContext), and the client span start from the request's context")
	assert.Equal(t, checkout.SpanContext().SpanID(), call.Parent().SpanID(), "the call to payments is a child of the checkout's server span")
	assert.Equal(t, call.SpanContext().TraceID(), payments.SpanContext().TraceID(),
		"payments' span is in trace %s, checkout's in %s: one request makes one trace across both services, carried in the traceparent header of the call", payments.SpanContext().TraceID(), call.SpanContext().TraceID())
	assert.Equal(t, call.SpanContext().SpanID(), payments.Parent().SpanID(),
		"payments' span must be the child of the client span that called it; its parent is %s. The header must carry the client span's context, injected after the span started", payments.Parent().SpanID())
}

func TestTheClientLeavesTheCallersRequestAlone(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	client, _, ctx, _ := tracedClient(t)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	req.Header.Set("X-Mine", "1")
	resp, err := client.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.NotEmpty(t, got.Get("traceparent"), "the request that reached the server carries no traceparent header: the callee cannot join the trace")
	assert.Empty(t, req.Header.Get("traceparent"),
		"the caller's own request now has a traceparent header: a RoundTripper must not change the request it is given (net/http's rule); send a clone. A retry of that request would carry a stale span")
}

func TestEverySpanEnds(t *testing.T) {
	h, spans := traced(t, http.StatusOK)
	func() {
		defer func() { recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/panic", nil))
	}()
	require.Len(t, spans(), 1, "a handler panicked (net/http recovers, and serves on), and its span never ended: a span not ended on every path, a panic too, is never exported")

	s := newShop(t, func(c Charge) error {
		if c.OrderID == "declined" {
			return ErrDeclined
		}
		return nil
	})
	s.order(t, "ok")
	s.order(t, "declined")
	s.payments.Close()
	code, _ := s.order(t, "payments-down")
	require.Equal(t, http.StatusBadGateway, code, "payments is down: checkout answers 502")
	started, ended := len(s.spans.Started()), len(s.spans.Ended())
	require.NotZero(t, started, "three orders were sent, and no span was started")
	assert.Equal(t, started, ended, "%d spans started and %d ended: a span that never ends is never exported, and the trace shows a hole exactly where something went wrong", started, ended)

	var failed sdktrace.ReadOnlySpan
	for _, sp := range s.spans.Ended() {
		if sp.SpanKind() == trace.SpanKindServer && attrs(sp)["http.response.status_code"].AsInt64() == http.StatusBadGateway {
			failed = sp
		}
	}
	require.NotNil(t, failed, "no server span of the order answered 502, among %s", names(s.spans.Ended()))
	assert.Equal(t, codes.Error, failed.Status().Code, "checkout answered 502: its span failed")
}
