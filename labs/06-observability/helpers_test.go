package observability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// fakeClock is a clock the test moves by hand, so that a request takes
// exactly as long as the test says.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// scrape reads reg the way Prometheus does: over /metrics, in the text
// format, parsed by Prometheus's own parser.
func scrape(t *testing.T, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}).ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, "/metrics answered %d: %s", rec.Code, rec.Body.String())
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(rec.Body)
	require.NoError(t, err, "/metrics is not in Prometheus's text format")
	return fams
}

// labelsOf returns a metric's labels as a map.
func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// series counts every series of every family, the way Prometheus's
// storage would: one per distinct set of labels (a histogram's buckets
// counted once).
func series(fams map[string]*dto.MetricFamily) int {
	n := 0
	for _, f := range fams {
		n += len(f.GetMetric())
	}
	return n
}

// tracing returns a tracer provider that keeps every span in memory, and
// the W3C propagator.
func tracing(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder, propagation.TextMapPropagator) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(t.Context()) })
	return tp, rec, propagation.TraceContext{}
}

// logBuffer collects JSON log lines, safe for concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Lines returns every line written so far, decoded.
func (b *logBuffer) Lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	data := append([]byte(nil), b.buf.Bytes()...)
	b.mu.Unlock()
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "a log line is not JSON: %s", sc.Text())
		lines = append(lines, line)
	}
	return lines
}

// jsonLogger returns a logger in the lab's format: JSON, through
// NewLogHandler, every level.
func jsonLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(NewLogHandler(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))), buf
}

// shop is the two services, instrumented and serving on loopback.
type shop struct {
	checkout, payments *httptest.Server
	pay                *Payments
	reg                *prometheus.Registry
	spans              *tracetest.SpanRecorder
	logs               *logBuffer
	client             *http.Client
}

// newShop starts payments and checkout on ports the kernel picks. bank
// decides each charge (nil approves all).
func newShop(t *testing.T, bank func(Charge) error) *shop {
	t.Helper()
	tp, spans, prop := tracing(t)
	log, logs := jsonLogger()
	s := &shop{reg: prometheus.NewRegistry(), spans: spans, logs: logs}
	payTel := Telemetry{Service: "payments", Registry: prometheus.WrapRegistererWith(prometheus.Labels{"service": "payments"}, s.reg),
		Tracer: tp, Propagator: prop, Log: log.With("service", "payments")}
	s.pay = &Payments{Log: payTel.Log}
	if bank != nil {
		s.pay.Bank = func(_ context.Context, c Charge) error { return bank(c) }
	}
	s.payments = httptest.NewServer(Service(payTel, s.pay.Routes(), NewHealth(time.Second), s.reg))
	t.Cleanup(s.payments.Close)

	coTel := Telemetry{Service: "checkout", Registry: prometheus.WrapRegistererWith(prometheus.Labels{"service": "checkout"}, s.reg),
		Tracer: tp, Propagator: prop, Log: log.With("service", "checkout")}
	client := TracedClient(coTel)
	t.Cleanup(client.CloseIdleConnections)
	co := &Checkout{Payments: s.payments.URL, Client: client, Log: coTel.Log}
	s.checkout = httptest.NewServer(Service(coTel, co.Routes(), NewHealth(time.Second), s.reg))
	t.Cleanup(s.checkout.Close)
	s.client = &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(s.client.CloseIdleConnections)
	return s
}

// order sends one order to checkout and returns the status and body.
func (s *shop) order(t *testing.T, id string) (int, string) {
	t.Helper()
	code, body, _ := s.orderWithID(t, id)
	return code, body
}

// orderWithID sends one order, and returns also the request id checkout
// answered with.
func (s *shop) orderWithID(t *testing.T, id string) (int, string, string) {
	t.Helper()
	body := `{"id":"` + id + `","user":"u1","amount_cents":1250}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.checkout.URL+"/checkout", strings.NewReader(body))
	require.NoError(t, err)
	resp, err := s.client.Do(req)
	require.NoError(t, err, "checkout did not answer POST /checkout")
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header.Get(RequestIDHeader)
}
