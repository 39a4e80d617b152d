package observability

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// metered is a service with part 1's metrics and nothing else: routes the
// tests control, a registry, and a clock that moves only when a route
// says so.
type metered struct {
	h       http.Handler
	reg     *prometheus.Registry
	clock   *fakeClock
	hold    chan struct{} // GET /slow waits on it
	entered chan struct{} // GET /slow tells it has started
}

func newMetered(t *testing.T) *metered {
	m := &metered{reg: prometheus.NewRegistry(), clock: newFakeClock(), hold: make(chan struct{}), entered: make(chan struct{}, 100)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("took")); err == nil {
			m.clock.Advance(d)
		}
		if r.URL.Query().Get("fail") != "" {
			w.WriteHeader(http.StatusGatewayTimeout)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.URL.Query().Get("status"), &code)
		w.WriteHeader(code)
	})
	mux.HandleFunc("GET /old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/orders/1", http.StatusFound) })
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("no WriteHeader before this")) })
	mux.HandleFunc("GET /silent", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		m.entered <- struct{}{}
		<-m.hold
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("the handler failed") })
	m.h = withRouteSlot(NewMetrics(m.reg, m.clock.Now).Handler(recordRoute(mux)))
	return m
}

func (m *metered) do(method, target string) int {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code
}

// family returns the metric family name from a scrape, failing if it is
// missing or of the wrong type.
func family(t *testing.T, fams map[string]*dto.MetricFamily, name string, typ dto.MetricType) *dto.MetricFamily {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		var names []string
		for n := range fams {
			names = append(names, n)
		}
		sort.Strings(names)
		require.Failf(t, "metric missing", "/metrics has no %s after requests were served (it has %v): dashboards and alerts look for that name (telemetry.go)", name, names)
	}
	require.Equal(t, typ, f.GetType(), "%s is a %s; it must be a %s", name, f.GetType(), typ)
	return f
}

func TestRequestsAreCountedByRouteMethodAndStatusClass(t *testing.T) {
	m := newMetered(t)
	for range 3 {
		m.do("GET", "/orders/1")
	}
	m.do("POST", "/checkout?status=402")
	m.do("POST", "/checkout?status=404")
	m.do("POST", "/checkout?status=502")
	m.do("GET", "/plain")
	m.do("GET", "/silent")
	m.do("GET", "/old")
	m.do("GET", "/no/such/page")

	f := family(t, scrape(t, m.reg), RequestsTotal, dto.MetricType_COUNTER)
	got := map[string]float64{}
	routes := map[string]bool{"/orders/{id}": true, "/checkout": true, "/plain": true, "/silent": true, "/old": true}
	for _, s := range f.GetMetric() {
		l := labelsOf(s)
		var names []string
		for n := range l {
			names = append(names, n)
		}
		sort.Strings(names)
		require.Equal(t, []string{"method", "route", "status"}, names,
			"%s has labels %v; it must have exactly route, method and status, so that every dashboard can sum and split it the same way", RequestsTotal, l)
		route := l["route"]
		if !routes[route] {
			// No route matched: any one fixed value will do ("" or "unmatched"), never the path.
			assert.NotEqual(t, "/no/such/page", route, "a request no route matched is counted under one fixed route value, not its path")
			route = "(unmatched)"
		}
		got[route+" "+l["method"]+" "+l["status"]] += s.GetCounter().GetValue()
	}
	want := map[string]float64{
		"/orders/{id} GET 2xx": 3,
		"/checkout POST 4xx":   2, // 402 and 404: one class
		"/checkout POST 5xx":   1,
		"/plain GET 2xx":       1, // a Write without WriteHeader answers 200
		"/silent GET 2xx":      1, // so does a handler that writes nothing
		"/old GET 3xx":         1, // a redirect is neither a success nor a failure
		"(unmatched) GET 4xx":  1, // no route matched (RouteOf is "")
	}
	assert.Equal(t, want, got,
		"%s by \"route method status\": a request counts once, under the route that served it (RouteOf), its method, and the class of the status the client got (2xx, 4xx, 5xx)", RequestsTotal)
}

func TestDurationsAreObservedInSeconds(t *testing.T) {
	m := newMetered(t)
	m.do("GET", "/orders/7?took=120ms")

	f := family(t, scrape(t, m.reg), RequestDuration, dto.MetricType_HISTOGRAM)
	require.Len(t, f.GetMetric(), 1, "one request makes one series of %s", RequestDuration)
	s := f.GetMetric()[0]
	assert.Equal(t, map[string]string{"route": "/orders/{id}", "method": "GET"}, labelsOf(s),
		"%s is labelled by route and method", RequestDuration)
	h := s.GetHistogram()
	require.EqualValues(t, 1, h.GetSampleCount(), "one request was served")

	// A failure is timed too: a slow 5xx is exactly what a latency SLO
	// must see.
	m.do("GET", "/orders/8?took=2s&fail=1")
	f = family(t, scrape(t, m.reg), RequestDuration, dto.MetricType_HISTOGRAM)
	assert.EqualValues(t, 2, f.GetMetric()[0].GetHistogram().GetSampleCount(),
		"a request that took 2s and failed with 504 was not observed: every request is timed, whatever its answer, or the slowest ones vanish from the latency graphs")
	if math.Abs(h.GetSampleSum()-0.120) > 1e-9 {
		require.Failf(t, "wrong unit", "a request that took 120ms (by the clock NewMetrics was given) was observed as %v; Prometheus's unit of time is the second, so it must be 0.12: "+
			"a metric named _seconds in milliseconds is off by 1000 on every dashboard, and time.Now is not the clock the service was given", h.GetSampleSum())
	}
}

// quantile estimates a quantile from a histogram's buckets the way
// PromQL's histogram_quantile does: linearly within the bucket it falls in.
func quantile(q float64, h *dto.Histogram) float64 {
	rank := q * float64(h.GetSampleCount())
	lower, below := 0.0, 0.0
	for _, b := range h.GetBucket() {
		if c := float64(b.GetCumulativeCount()); c >= rank {
			if math.IsInf(b.GetUpperBound(), 1) {
				return lower
			}
			return lower + (b.GetUpperBound()-lower)*(rank-below)/(c-below)
		} else {
			lower, below = b.GetUpperBound(), c
		}
	}
	return lower
}

func TestBucketsResolveTheLatencyObjective(t *testing.T) {
	m := newMetered(t)
	// The shop's usual latencies: 40 to 120 ms, evenly.
	for ms := 40; ms <= 120; ms++ {
		m.do("GET", fmt.Sprintf("/orders/1?took=%dms", ms))
	}
	f := family(t, scrape(t, m.reg), RequestDuration, dto.MetricType_HISTOGRAM)
	h := f.GetMetric()[0].GetHistogram()
	var bounds []float64
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	assert.Contains(t, bounds, LatencyObjective.Seconds(),
		"the buckets are %v: none ends at the latency objective (%v). \"What share of requests took at most 300ms\" is then an estimate between two buckets; "+
			"with a bucket boundary at the objective, the SLO is read exactly", bounds, LatencyObjective)
	p50 := quantile(0.5, h)
	assert.InDelta(t, 0.080, p50, 0.016,
		"requests took 40 to 120ms, so the median is 80ms, but the buckets %v put it at %.3fs: a histogram knows only its buckets, and these are too coarse where this service's latencies are", bounds, p50)
}

func TestInFlightCountsRequestsBeingServed(t *testing.T) {
	m := newMetered(t)
	gauge := func() float64 {
		f := family(t, scrape(t, m.reg), InFlight, dto.MetricType_GAUGE)
		require.Len(t, f.GetMetric(), 1, "%s is one series, without labels", InFlight)
		return f.GetMetric()[0].GetGauge().GetValue()
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { m.do("GET", "/slow") })
	}
	for range 3 {
		<-m.entered
	}
	assert.Equal(t, 3.0, gauge(), "three requests are inside the handler right now")
	close(m.hold)
	wg.Wait()
	assert.Equal(t, 0.0, gauge(), "every request has been answered")

	func() {
		defer func() {
			assert.NotNil(t, recover(), "the handler's panic must reach net/http, which logs it and closes the connection; the middleware must not swallow it")
		}()
		m.do("GET", "/panic")
	}()
	assert.Equal(t, 0.0, gauge(),
		"a handler panicked, and net/http gave up on that request, but %s still counts it: a request that ends in a panic is no longer in flight either", InFlight)
}

// methods a client may send; the server accepts any token as a method.
var oddMethods = []string{"PROPFIND", "get", "FOO", "X1", "BREW", "Q"}

func TestLabelsStayBoundedWhateverTheTrafficIs(t *testing.T) {
	m := newMetered(t)
	// One request of each kind makes the series a service needs.
	warm := []struct{ method, target string }{
		{"GET", "/orders/1"}, {"POST", "/checkout?status=201"}, {"POST", "/checkout?status=402"},
		{"POST", "/checkout?status=502"}, {"GET", "/nope"}, {"PROPFIND", "/orders/1"},
	}
	for _, w := range warm {
		m.do(w.method, w.target)
	}
	before := scrape(t, m.reg)
	family(t, before, RequestsTotal, dto.MetricType_COUNTER)
	n := series(before)

	// Then 10 000 users, each with their own order, some probing paths
	// that do not exist, some with methods nobody defined.
	rng := rand.New(rand.NewPCG(6, 6))
	for i := range 10_000 {
		user := fmt.Sprintf("user-%d", i)
		var req *http.Request
		switch i % 4 {
		case 0:
			req = httptest.NewRequest("GET", fmt.Sprintf("/orders/%d?user=%s", rng.IntN(1e9), user), nil)
		case 1:
			req = httptest.NewRequest("POST", "/checkout?status="+[]string{"201", "402", "502"}[rng.IntN(3)]+"&user="+user, nil)
		case 2:
			req = httptest.NewRequest("GET", fmt.Sprintf("/wp-admin/%d.php", rng.IntN(1e9)), nil)
		default:
			req = httptest.NewRequest(oddMethods[rng.IntN(len(oddMethods))]+fmt.Sprint(i%50), "/orders/1", nil)
		}
		req.Header.Set("X-User", user)
		m.h.ServeHTTP(httptest.NewRecorder(), req)
	}
	after := scrape(t, m.reg)
	if series(after) == n {
		return
	}
	// Name the label that grew: the one with the most values now.
	var worst, metric string
	var values []string
	for name, f := range after {
		byLabel := map[string]map[string]bool{}
		for _, s := range f.GetMetric() {
			for k, v := range labelsOf(s) {
				if byLabel[k] == nil {
					byLabel[k] = map[string]bool{}
				}
				byLabel[k][v] = true
			}
		}
		for k, vs := range byLabel {
			if len(vs) > len(values) {
				worst, metric, values = k, name, nil
				for v := range vs {
					values = append(values, v)
				}
			}
		}
	}
	slices.Sort(values)
	require.Failf(t, "unbounded label", "after 10 000 more requests /metrics went from %d series to %d. The label %q of %s now has %d values (%s, ...): "+
		"a label whose values come from the request (a user, an id in the path, a method a client made up) makes a series for each, "+
		"until Prometheus runs out of memory. Keep every label to a small, fixed set of values.",
		n, series(after), worst, metric, len(values), strings.Join(values[:min(4, len(values))], ", "))
}

func TestMetricsFollowPrometheusConventions(t *testing.T) {
	m := newMetered(t)
	m.do("GET", "/orders/1")
	fams := scrape(t, m.reg)
	for _, name := range []string{RequestsTotal, RequestDuration, InFlight} {
		f, ok := fams[name]
		require.True(t, ok, "/metrics has no %s after a request was served", name)
		assert.NotEmpty(t, f.GetHelp(), "%s has no help text: HELP is what a person reading the dashboard sees first", name)
	}
	problems, err := testutil.GatherAndLint(m.reg)
	require.NoError(t, err)
	for _, p := range problems {
		assert.Failf(t, "lint", "%s: %s (promlint, Prometheus's own checker)", p.Metric, p.Text)
	}
}
