package stack

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricNamesFindsTheSeriesAQueryReads(t *testing.T) {
	for expr, want := range map[string][]string{
		`http_requests_total`: {"http_requests_total"},
		`sum by (job, route) (rate(http_requests_total{status=~"5..", route!="/livez"}[1m]))`: {"http_requests_total"},
		`histogram_quantile(0.99, sum(rate(x_bucket[$__rate_interval])) by (le))`:             {"x_bucket"},
		`a / on(job) group_left(route) b offset 5m > bool 0.5 and c unless d or a`:            {"a", "b", "c", "d"},
		`label_replace(up, "dst", "$1 {[(", "src", "(.*)")`:                                   {"up"},
		`job:rate:sum # a comment naming no_metric`:                                           {"job:rate:sum"},
		`sum(rate(x[5m:1m])) without (instance) * 1e3`:                                        {"x"},
		`vector(1)`: nil,
	} {
		got, err := MetricNames(expr)
		require.NoError(t, err, expr)
		assert.Equal(t, want, got, expr)
	}
}

func TestMetricNamesRejectsWhatCannotParse(t *testing.T) {
	for _, expr := range []string{`sum(rate(x[1m])`, `x)`, `x{a="1"`, `x{a="1}`, `rate(x[1m)`} {
		_, err := MetricNames(expr)
		assert.Error(t, err, expr)
	}
}
