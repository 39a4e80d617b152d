package stack

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// promConfig is the part of a Prometheus config the stack's checks read.
type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// targets returns each job's targets.
func (c promConfig) targets() map[string][]string {
	m := map[string][]string{}
	for _, sc := range c.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			m[sc.JobName] = append(m[sc.JobName], s.Targets...)
		}
	}
	return m
}

const (
	composeProm = "deploy/prometheus/prometheus.yml"
	localProm   = "deploy/local/prometheus.yml"
	rulesFile   = "deploy/prometheus/rules.yml"
)

// wantTargets is what Prometheus in compose must scrape, derived from the
// compose file and the demo's command rather than written twice.
func wantTargets(t *testing.T) map[string][]string {
	cmd := readDockerfile(t, "deploy/demo.Dockerfile").cmd
	want := map[string][]string{}
	for _, job := range []string{"checkout", "payments"} {
		addr, ok := flagValue(cmd, job)
		require.True(t, ok, "the demo's command has no -%s flag", job)
		_, port := hostPort(t, addr)
		want[job] = []string{net.JoinHostPort("demo", strconv.Itoa(port))}
	}
	for _, m := range etcdMembers {
		u, _ := flagValue(service(t, m).Command, "advertise-client-urls")
		want["etcd"] = append(want["etcd"], strings.TrimPrefix(u, "http://"))
	}
	return want
}

func TestPrometheusScrapesTheDemoAndEachEtcdMember(t *testing.T) {
	var c promConfig
	readYAML(t, composeProm, &c)
	assert.Equal(t, wantTargets(t), c.targets(), lesson(
		composeProm+" scrapes other targets than the stack's",
		"Prometheus scrapes checkout and payments where the demo listens (service demo, the ports of its -checkout and "+
			"-payments flags) and each etcd member at its client URL; a target off by a port is a graph that stays empty"))
	for _, sc := range c.ScrapeConfigs {
		assert.Contains(t, []string{"", "/metrics"}, sc.MetricsPath, "job %s: the demo and etcd serve /metrics", sc.JobName)
	}
}

func TestPrometheusReadsTheMountedConfig(t *testing.T) {
	s := service(t, "prometheus")
	cfg, ok := flagValue(s.Command, "config.file")
	require.True(t, ok, "prometheus's command names no --config.file")
	mounted := false
	for _, v := range s.Volumes {
		if filepath.ToSlash(v.Source) == filepath.ToSlash(mustAbs(t, filepath.Join(root, "deploy/prometheus"))) {
			mounted = v.ReadOnly && v.Target == filepath.Dir(cfg)
		}
	}
	assert.True(t, mounted, lesson(
		"prometheus does not mount deploy/prometheus read-only at "+filepath.Dir(cfg),
		"Prometheus reads its config and rules.yml from there; otherwise it runs on the image's own config"))
}

func TestLocalPrometheusAgreesWithCompose(t *testing.T) {
	var dc, lc promConfig
	readYAML(t, composeProm, &dc)
	readYAML(t, localProm, &lc)
	assert.Equal(t, dc.Global, lc.Global, "the two configs scrape and evaluate as often")
	require.Len(t, lc.RuleFiles, len(dc.RuleFiles))
	for i := range dc.RuleFiles {
		assert.Equal(t, filepath.Join(filepath.Dir(composeProm), dc.RuleFiles[i]),
			filepath.Clean(filepath.Join(filepath.Dir(localProm), lc.RuleFiles[i])),
			lesson("the local config reads another rules file", "both stacks record the same rules, from one file"))
	}

	dt, lt := dc.targets(), lc.targets()
	require.Equal(t, sortedKeys(dt), sortedKeys(lt), lesson(localProm+" has other jobs than "+composeProm,
		"the two stacks show the same jobs, so the docs and dashboards fit both"))
	seen := map[int]string{}
	for _, job := range sortedKeys(dt) {
		require.Len(t, lt[job], len(dt[job]), "job %s: as many targets in both configs", job)
		for i, target := range dt[job] {
			svc, port := hostPort(t, target)
			host, lport := hostPort(t, lt[job][i])
			assert.Equal(t, "127.0.0.1", host, "%s: the local stack listens on loopback only", lt[job][i])
			if hp, ok := published(service(t, svc))[port]; ok {
				_, want := hostPort(t, hp)
				assert.Equal(t, want, lport, lesson(
					fmt.Sprintf("job %s: compose scrapes %s, published on %s, but the local config scrapes %s", job, target, hp, lt[job][i]),
					"a program that compose publishes listens on the same port without Docker"))
			}
			assert.NotContains(t, seen, lport, lesson(
				fmt.Sprintf("job %s: the local target %s is also %s", job, lt[job][i], seen[lport]),
				"on one host every program needs a port of its own"))
			seen[lport] = lt[job][i]
		}
	}
}

// rulesDoc is a Prometheus rules file.
type rulesDoc struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestRecordingRulesReadOnlyMetricsThatExist(t *testing.T) {
	var doc rulesDoc
	readYAML(t, rulesFile, &doc)
	require.NotEmpty(t, doc.Groups, rulesFile+" has no rule groups")
	recorded := map[string]bool{}
	var exprs []string
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			if !assert.NotEmpty(t, strings.TrimSpace(r.Expr), "group %s, rule %s: an empty expr records nothing", g.Name, name) {
				continue
			}
			exprs = append(exprs, r.Expr)
			names, err := MetricNames(r.Expr)
			if !assert.NoError(t, err, "rule %s: %s", name, r.Expr) {
				continue
			}
			assert.NotEmpty(t, names, "rule %s reads no metric: %s", name, r.Expr)
			for _, m := range names {
				assert.True(t, slices.Contains(demoMetrics, m) || strings.HasPrefix(m, "etcd_") || recorded[m], lesson(
					fmt.Sprintf("rule %s reads %s\n    want: one of %v, an etcd_ metric, or a rule recorded above it", name, m, demoMetrics),
					"a rule on a metric nobody exposes records nothing, silently"))
			}
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	all := strings.Join(exprs, "\n")
	for what, want := range map[string]string{
		"the request rate":            "rate(http_requests_total[",
		"the error ratio (5xx)":       `http_requests_total{status="5xx"}`,
		"the p99 from the histogram ": "histogram_quantile(0.99, sum by (job, route, le) (rate(http_request_duration_seconds_bucket[",
	} {
		assert.Contains(t, all, want, lesson(rulesFile+" does not record "+what, "the rules record the RED metrics per route"))
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}
