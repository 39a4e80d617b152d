package observability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// inSpan returns a context inside a fresh span, and that span's ids.
func inSpan(t *testing.T) (context.Context, trace.SpanContext) {
	tp, _, _ := tracing(t)
	ctx, span := tp.Tracer("test").Start(t.Context(), "work")
	t.Cleanup(func() { span.End() })
	return ctx, span.SpanContext()
}

func TestLinesCarryTheIDsOfTheirSpan(t *testing.T) {
	log, buf := jsonLogger()
	ctx, sc := inSpan(t)
	log.InfoContext(ctx, "charging", "order_id", "o-1")
	lines := buf.Lines(t)
	require.Len(t, lines, 1, "one line was logged")
	assert.Equal(t, sc.TraceID().String(), lines[0]["trace_id"],
		"a line logged inside a span carries its trace id as \"trace_id\" (32 hex digits): that is how you go from a log line to the whole request's trace; the line was %v", lines[0])
	assert.Equal(t, sc.SpanID().String(), lines[0]["span_id"], "a line logged inside a span carries its span id as \"span_id\" (16 hex digits); the line was %v", lines[0])
	assert.Equal(t, "o-1", lines[0]["order_id"], "the line's own attributes are kept")

	// Each line takes the ids of its own context, not of an earlier one.
	ctx2, sc2 := inSpan(t)
	log.InfoContext(ctx2, "another")
	lines = buf.Lines(t)
	assert.Equal(t, sc2.TraceID().String(), lines[1]["trace_id"], "a second line, in another span, carries that span's trace id; the line was %v", lines[1])

	// A span the sampler left out is still a span: its logs name it, so
	// that they can be found together across services.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	ctx3, span := tp.Tracer("test").Start(t.Context(), "unsampled")
	defer span.End()
	log.InfoContext(ctx3, "unsampled")
	lines = buf.Lines(t)
	assert.Equal(t, span.SpanContext().TraceID().String(), lines[2]["trace_id"],
		"a line in a span that was not sampled has no trace id: the trace is not recorded, but the id still ties the request's lines together in every service; the line was %v", lines[2])

	// The handler passes on the level it was given.
	var quiet logBuffer
	info := slog.New(NewLogHandler(slog.NewJSONHandler(&quiet, &slog.HandlerOptions{Level: slog.LevelInfo})))
	info.DebugContext(ctx, "noise")
	assert.Empty(t, quiet.Lines(t), "a logger at level INFO wrote a DEBUG line: Enabled must ask the handler it wraps")
}

func TestLinesOutsideASpanCarryNoTraceIDs(t *testing.T) {
	log, buf := jsonLogger()
	log.InfoContext(context.Background(), "starting")
	ctx, sc := inSpan(t)
	log.InfoContext(ctx, "serving")
	lines := buf.Lines(t)
	require.Len(t, lines, 2, "two lines were logged")
	for _, key := range []string{"trace_id", "span_id", "request_id"} {
		assert.NotContains(t, lines[0], key,
			"a line logged outside any span has %s = %v: ids of zeros all point at one trace that does not exist, and a search for them finds every such line; leave them out", key, lines[0][key])
	}
	assert.Equal(t, sc.TraceID().String(), lines[1]["trace_id"], "a line logged inside a span carries its trace id; the line was %v", lines[1])
}

func TestLoggersMadeWithWithKeepTheIDs(t *testing.T) {
	log, buf := jsonLogger()
	ctx, sc := inSpan(t)
	log.With("service", "checkout").InfoContext(ctx, "one")
	log.With("service", "checkout").With("order_id", "o-2").WarnContext(ctx, "two")
	lines := buf.Lines(t)
	require.Len(t, lines, 2, "two lines were logged")
	for _, line := range lines {
		assert.Equal(t, "checkout", line["service"], "log.With's attributes are kept")
		assert.Equal(t, sc.TraceID().String(), line["trace_id"],
			"a line from a logger made with log.With(...) lost its trace id: %v. With calls the handler's WithAttrs, and what it returns must still add the ids", line)
	}
}

func TestIDsStayAtTheTopOfLinesInAGroup(t *testing.T) {
	log, buf := jsonLogger()
	ctx, sc := inSpan(t)
	log.With("service", "payments").WithGroup("charge").InfoContext(ctx, "charged", "amount_cents", 1250)
	lines := buf.Lines(t)
	require.Len(t, lines, 1, "one line was logged")
	l := lines[0]
	assert.Equal(t, map[string]any{"amount_cents": 1250.0}, l["charge"], "the line's own attributes stay in the logger's group")
	assert.Equal(t, sc.TraceID().String(), l["trace_id"],
		"a line from a logger with a group (log.WithGroup(\"charge\")) must still have trace_id at the top of the line, where every search looks for it; the line was %v", l)
	assert.Equal(t, sc.SpanID().String(), l["span_id"], "span_id too stays at the top of the line; the line was %v", l)
}

func TestRequestIDsAreKeptOrMade(t *testing.T) {
	var seen string
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestIDFrom(r.Context())
		io.WriteString(w, "ok") // headers set after this are not sent
	}))
	send := func(id string) (inside, answered string) {
		req := httptest.NewRequest("GET", "/", nil)
		if id != "" {
			req.Header.Set(RequestIDHeader, id)
		}
		rec := httptest.NewRecorder()
		seen = ""
		h.ServeHTTP(rec, req)
		return seen, rec.Result().Header.Get(RequestIDHeader)
	}
	assert.Empty(t, RequestIDFrom(context.WithValue(t.Context(), "request_id", "forged")),
		"RequestIDFrom found an id that another package put in the context under the string \"request_id\": a context key is a type of your own, so that no one else's value can pass for it")

	for _, id := range []string{"9f2c4d7e-0b1a-4c3d-8e5f-6a7b8c9d0e1f", "abc-123"} {
		inside, answered := send(id)
		assert.Equal(t, id, inside, "the caller sent %s %q: the request keeps it, so that the caller's logs and ours name the request alike", RequestIDHeader, id)
		assert.Equal(t, id, answered, "the answer carries the request's id in %s", RequestIDHeader)
	}

	made := map[string]bool{}
	for range 1000 {
		inside, answered := send("")
		require.NotEmpty(t, inside, "a request that came without an id must get one (RequestIDFrom in the handler returned \"\")")
		require.Equal(t, inside, answered, "the answer carries the id the request was given, in %s", RequestIDHeader)
		require.False(t, made[inside], "the id %q was made twice in 1000 requests: a request id names one request", inside)
		made[inside] = true
	}

	for _, bad := range []string{strings.Repeat("x", 1000), "a\n{\"level\":\"ERROR\",\"msg\":\"forged\"}", "id with spaces", `quo"te`} {
		inside, _ := send(bad)
		shown := bad
		if len(shown) > 40 {
			shown = fmt.Sprintf("%s... (%d bytes)", shown[:20], len(bad))
		}
		assert.True(t, inside != bad,
			"the caller sent %s %q and the request kept it: a header is input from outside, and this one goes into every log line of the request; keep only a short id of plain characters, and make a new one otherwise", RequestIDHeader, shown)
		assert.NotEmpty(t, inside, "a request whose id was refused gets a new one")
	}
}

func TestAccessLogLinesFollowTheStatus(t *testing.T) {
	log, buf := jsonLogger()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("id"), &code)
		w.WriteHeader(code)
	})
	h := withRouteSlot(AccessLog(log, recordRoute(mux)))
	for _, code := range []int{200, 404, 503} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", fmt.Sprintf("/orders/%d", code), nil))
	}
	lines := buf.Lines(t)
	require.Len(t, lines, 3, "three requests were served: one access line each")
	for i, want := range []struct {
		status float64
		level  string
	}{{200, "INFO"}, {404, "WARN"}, {503, "ERROR"}} {
		l := lines[i]
		assert.Equal(t, "request", l["msg"], "an access line's message is \"request\"; the line was %v", l)
		assert.Equal(t, "GET", l["method"], "an access line names the method; the line was %v", l)
		assert.Equal(t, "/orders/{id}", l["route"], "an access line names the route (RouteOf); the line was %v", l)
		assert.Equal(t, want.status, l["status"], "an access line names the status, as a number; the line was %v", l)
		assert.Equal(t, want.level, l["level"],
			"a request answered %v is logged at %s, not %v: a 5xx is an error to look into, a 4xx a warning; an alert on error lines must fire for the one and not the other", want.status, want.level, l["level"])
	}
}

func TestEveryLineOfAFailedRequestCarriesItsIDs(t *testing.T) {
	s := newShop(t, func(Charge) error { return fmt.Errorf("the bank is on fire") })
	code, body, id := s.orderWithID(t, "o-9")
	require.Equal(t, http.StatusBadGateway, code, "the bank failed, so payments answered 500 and checkout 502: %s", body)

	lines := s.logs.Lines(t)
	var access map[string]any
	traces := map[any]bool{}
	for _, l := range lines {
		if l["level"] == "INFO" {
			continue
		}
		for _, key := range []string{"trace_id", "span_id", "request_id"} {
			assert.NotEmpty(t, l[key],
				"this line of a failed request has no %s: %v. A line that says something went wrong must lead to the request and its trace, or no one can find out why", key, l)
		}
		traces[l["trace_id"]] = true
		assert.Equal(t, id, l["request_id"],
			"checkout answered with %s %q, and this line of the same order names request %v: %v. Checkout passes its id on to payments, and payments keeps it, so that one search finds the order everywhere", RequestIDHeader, id, l["request_id"], l)
		if l["msg"] == "request" && l["service"] == "checkout" {
			access = l
		}
	}
	require.NotNil(t, access, "checkout wrote no access line (msg \"request\") at level ERROR for the order it answered 502; the lines were %v", lines)
	assert.Len(t, traces, 1, "the failed order's lines, in checkout and in payments, name %d traces: %v; one request is one trace", len(traces), traces)
}
