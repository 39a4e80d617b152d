//go:build solution

package observability

// Logs that lead to their trace: part 3, the reference solution.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"

	"go.opentelemetry.io/otel/trace"
)

// NewLogHandler returns a handler that adds the ids of the line's context
// to each line, and passes it on to inner.
func NewLogHandler(inner slog.Handler) slog.Handler {
	return &idHandler{root: inner, inner: inner}
}

// idHandler puts the ids at the top of the line, wherever the logger's
// groups are: a search for trace_id must find every line of the trace.
// So it keeps the handler it was given (root) and the calls made on it
// since, and replays them over root with the ids added, line by line.
type idHandler struct {
	root  slog.Handler
	since []func(slog.Handler) slog.Handler // WithAttrs and WithGroup, in order
	inner slog.Handler                      // root with since applied
}

func (h *idHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *idHandler) Handle(ctx context.Context, r slog.Record) error {
	var ids []slog.Attr
	// A line outside any span gets no ids rather than zeros, which would
	// all point at one trace that does not exist.
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		ids = append(ids, slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if id := RequestIDFrom(ctx); id != "" {
		ids = append(ids, slog.String("request_id", id))
	}
	if len(ids) == 0 {
		return h.inner.Handle(ctx, r)
	}
	out := h.root.WithAttrs(ids)
	for _, call := range h.since {
		out = call(out)
	}
	return out.Handle(ctx, r)
}

// WithAttrs and WithGroup must return an idHandler too, or a logger made
// with log.With(...) writes its lines without the ids.
func (h *idHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.then(func(next slog.Handler) slog.Handler { return next.WithAttrs(attrs) })
}

func (h *idHandler) WithGroup(name string) slog.Handler {
	return h.then(func(next slog.Handler) slog.Handler { return next.WithGroup(name) })
}

func (h *idHandler) then(call func(slog.Handler) slog.Handler) slog.Handler {
	return &idHandler{root: h.root, since: append(slices.Clip(h.since), call), inner: call(h.inner)}
}

type requestIDKey struct{}

// RequestID returns next, with an id for every request it serves.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !usableRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// usableRequestID keeps a caller's id only if it is short and plain: it
// comes from outside, and goes into every log line of the request.
func usableRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RequestIDFrom returns the id of the request ctx belongs to, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// AccessLog returns next, with a line in log for every request it serves.
func AccessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := NewStatusWriter(w)
		next.ServeHTTP(sw, r)
		code := sw.Status()
		level := slog.LevelInfo
		switch {
		case code >= 500:
			level = slog.LevelError
		case code >= 400:
			level = slog.LevelWarn
		}
		// The request's context carries its span and its id, so the line
		// does too.
		log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method), slog.String("route", RouteOf(r)), slog.Int("status", code))
	})
}
