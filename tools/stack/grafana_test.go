package stack

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const dashboardFile = "deploy/grafana/dashboards/red.json"

// panel is the part of a Grafana panel the checks read; rows nest panels.
type panel struct {
	Title      string      `json:"title"`
	Type       string      `json:"type"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func dashboardPanels(t *testing.T) []panel {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, dashboardFile))
	require.NoError(t, err)
	var d struct {
		UID    string  `json:"uid"`
		Panels []panel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &d), lesson(dashboardFile+" is not valid JSON", "Grafana skips a dashboard it cannot read, and says so only in its log"))
	require.NotEmpty(t, d.UID, "a provisioned dashboard keeps one uid, so links to it last")
	var all []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return all
}

func TestDashboardQueriesReadTheDemosMetrics(t *testing.T) {
	var exprs []string
	for _, p := range dashboardPanels(t) {
		if p.Type == "row" {
			continue
		}
		if !assert.NotEmpty(t, p.Targets, "panel %q has no query", p.Title) {
			continue
		}
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
			ds := q.Datasource
			if ds == nil {
				ds = p.Datasource
			}
			assert.True(t, ds != nil && ds.UID == "prometheus", lesson(
				fmt.Sprintf("panel %q queries a data source other than uid prometheus", p.Title),
				"the provisioned Prometheus has that uid; any other is a panel that says 'data source not found'"))
			names, err := MetricNames(q.Expr)
			if !assert.NoError(t, err, "panel %q: %s", p.Title, q.Expr) {
				continue
			}
			assert.NotEmpty(t, names, "panel %q reads no metric: %s", p.Title, q.Expr)
			for _, m := range names {
				assert.Contains(t, demoMetrics, m, lesson(
					fmt.Sprintf("panel %q reads %s, which the demo does not expose", p.Title, m),
					"a panel on a metric nobody exposes stays empty, and looks like a quiet service"))
			}
		}
	}
	all := strings.Join(exprs, "\n")
	for what, want := range map[string]string{
		"request rate by route":  "sum by (job, route) (rate(http_requests_total[",
		"error ratio by route":   `http_requests_total{status="5xx"}`,
		"p50 latency":            "histogram_quantile(0.5, sum by (job, route, le) (rate(http_request_duration_seconds_bucket[",
		"p99 latency":            "histogram_quantile(0.99, sum by (job, route, le) (rate(http_request_duration_seconds_bucket[",
		"requests in flight":     "http_requests_in_flight",
		"Grafana's rate windows": "[$__rate_interval]",
	} {
		assert.Contains(t, all, want, lesson("the RED dashboard has no panel for "+what,
			"the dashboard shows rate, errors and duration per route, and the requests in flight"))
	}
}

// datasourcesDoc is Grafana's data source provisioning file.
type datasourcesDoc struct {
	Datasources []struct {
		Name string `yaml:"name"`
		UID  string `yaml:"uid"`
		Type string `yaml:"type"`
		URL  string `yaml:"url"`
	} `yaml:"datasources"`
}

func TestGrafanaDataSourcesPointAtTheStack(t *testing.T) {
	var doc datasourcesDoc
	readYAML(t, "deploy/grafana/provisioning/datasources/datasources.yml", &doc)
	want := map[string]string{"prometheus": "prometheus:9090", "jaeger": "jaeger:16686"}
	got := map[string]string{}
	for _, ds := range doc.Datasources {
		u, err := url.Parse(ds.URL)
		require.NoError(t, err)
		got[ds.UID] = u.Host
		assert.Equal(t, ds.UID, ds.Type, "data source %s: its uid is its type, the name the dashboard uses", ds.Name)
	}
	assert.Equal(t, want, got, lesson("Grafana's data sources point elsewhere than the stack's services",
		"inside compose, Grafana reaches Prometheus and Jaeger by service name and container port"))
	for uid, hp := range got {
		if svc, port, ok := strings.Cut(hp, ":"); ok {
			n, _ := strconv.Atoi(port)
			_, published := published(service(t, svc))[n]
			assert.True(t, published, "%s: %s listens on %d, the port it publishes", uid, svc, n)
		}
	}
}

func TestGrafanaLoadsTheDashboardFolder(t *testing.T) {
	var doc struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "deploy/grafana/provisioning/dashboards/dashboards.yml", &doc)
	require.Len(t, doc.Providers, 1)
	var targets []string
	for _, v := range service(t, "grafana").Volumes {
		if v.Source == mustAbs(t, filepath.Join(root, filepath.Dir(dashboardFile))) {
			targets = append(targets, v.Target)
		}
	}
	assert.True(t, slices.Contains(targets, doc.Providers[0].Options.Path), lesson(
		fmt.Sprintf("Grafana loads dashboards from %s, but deploy/grafana/dashboards is mounted at %v", doc.Providers[0].Options.Path, targets),
		"the provider reads the folder the dashboards are mounted in, or Grafana starts with none"))
	home, _ := env(service(t, "grafana"), "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
	assert.Equal(t, doc.Providers[0].Options.Path+"/"+filepath.Base(dashboardFile), home,
		"Grafana opens on the RED dashboard")
}
