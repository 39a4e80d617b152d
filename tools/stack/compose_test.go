package stack

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The stack's services, and the ports each publishes on the host: the URLs
// that `make up` prints and docs/stack.md gives.
var wantPorts = map[string][]int{
	"etcd1":      {2379},
	"etcd2":      nil,
	"etcd3":      nil,
	"demo":       {8080, 8081},
	"prometheus": {9090},
	"jaeger":     {4317, 4318, 16686},
	"grafana":    {3000},
}

var etcdMembers = []string{"etcd1", "etcd2", "etcd3"}

func TestComposeHasTheStacksServices(t *testing.T) {
	p := loadCompose(t)
	assert.Equal(t, sortedKeys(wantPorts), sortedKeys(p.Services), lesson(
		"docker-compose.yml has other services than the stack's",
		"Prometheus, Grafana and docs/stack.md name these services; one renamed or missing leaves them pointing at nothing"))
}

func TestImagesArePinned(t *testing.T) {
	p := loadCompose(t)
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		if s.Build != nil {
			for _, img := range readDockerfile(t, s.Build.Dockerfile).from {
				assertPinned(t, s.Build.Dockerfile+" FROM", img)
			}
			continue
		}
		assertPinned(t, "service "+name, s.Image)
	}
}

func assertPinned(t *testing.T, where, image string) {
	t.Helper()
	ref, _, _ := strings.Cut(image, "@") // a digest pins on its own
	tag := ""
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		tag = ref[i+1:]
	}
	assert.True(t, strings.Contains(image, "@") || (tag != "" && tag != "latest"), lesson(
		fmt.Sprintf("%s: image %q has no version\n    want: a tag such as %s:v1.2.3", where, image, ref),
		"an image without a version is whatever was pushed last: the stack changes under you between two `make up`s"))
}

func TestPortsArePublishedOnLoopback(t *testing.T) {
	p := loadCompose(t)
	for _, name := range sortedKeys(wantPorts) {
		s := p.Services[name]
		var got []int
		for _, port := range s.Ports {
			got = append(got, int(port.Target))
			assert.Equal(t, fmt.Sprint(port.Target), port.Published, lesson(
				fmt.Sprintf("%s publishes container port %d on host port %s", name, port.Target, port.Published),
				"each port is published as itself, so the URLs in the docs are the same with and without Docker"))
			assert.Equal(t, "127.0.0.1", port.HostIP, lesson(
				fmt.Sprintf("%s publishes port %d on %q", name, port.Target, port.HostIP),
				"ports bind to loopback: etcd has no auth and Grafana lets anyone in as admin"))
		}
		slices.Sort(got)
		assert.Equal(t, wantPorts[name], got, lesson(
			fmt.Sprintf("%s publishes other ports than the stack's", name),
			"docs/stack.md and `make up` send you to these ports"))
	}
}

func TestEveryServiceHasAHealthCheck(t *testing.T) {
	p := loadCompose(t)
	// What each check must ask: the question that says the service works.
	want := map[string][]string{
		"etcd1": {"etcdctl", "endpoint", "health"}, "etcd2": {"etcdctl", "endpoint", "health"}, "etcd3": {"etcdctl", "endpoint", "health"},
		"demo":       {":8080/livez", ":8081/livez"},
		"prometheus": {"/-/ready"},
		"jaeger":     {":13133/status"},
		"grafana":    {"/api/health"},
	}
	for _, name := range sortedKeys(want) {
		s := p.Services[name]
		if !assert.True(t, s.HealthCheck != nil && !s.HealthCheck.Disable && len(s.HealthCheck.Test) > 1, lesson(
			name+" has no health check",
			"`docker compose ps` says healthy or not only for services that have one; without it a crashed etcd member looks up")) {
			continue
		}
		test := strings.Join(s.HealthCheck.Test, " ")
		for _, w := range want[name] {
			assert.Contains(t, test, w, lesson(name+"'s health check does not ask "+w, "the check asks the question that says the service works"))
		}
		assert.NotContains(t, test, "localhost", lesson(
			name+"'s health check asks localhost",
			"localhost may resolve to ::1, where these servers do not listen: probes use 127.0.0.1"))
	}
}

func TestEtcdMembersAgreeOnTheCluster(t *testing.T) {
	var cluster string
	for _, name := range etcdMembers {
		s := service(t, name)
		setting := func(flag string) string {
			if v, ok := flagValue(s.Command, flag); ok {
				return v
			}
			v, _ := env(s, "ETCD_"+strings.ToUpper(strings.ReplaceAll(flag, "-", "_")))
			return v
		}
		c := setting("initial-cluster")
		if cluster == "" {
			cluster = c
		}
		require.Equal(t, cluster, c, lesson(name+" names another initial cluster than "+etcdMembers[0],
			"every member starts with the same list of members, or they form different clusters"))

		members := map[string]string{}
		for _, m := range strings.Split(c, ",") {
			n, url, _ := strings.Cut(m, "=")
			members[n] = url
		}
		assert.Equal(t, etcdMembers, sortedKeys(members), lesson(
			"the initial cluster is "+c, "it names all three members, each under its service name"))

		assert.Equal(t, name, setting("name"), lesson(name+" runs under another member name",
			"a member's name is its key in the initial cluster; a name not in it does not join"))
		assert.Equal(t, "http://"+name+":2380", setting("initial-advertise-peer-urls"), lesson(
			name+"'s peer URL is not its service name on port 2380",
			"the peer URL a member advertises must be the one the initial cluster gives it, or the others reject it"))
		assert.Equal(t, members[name], setting("initial-advertise-peer-urls"), lesson(
			name+" advertises a peer URL that the initial cluster does not give it",
			"etcd refuses to start when the two differ"))
		assert.Equal(t, "http://"+name+":2379", setting("advertise-client-urls"), lesson(
			name+"'s client URL is not its service name on port 2379",
			"clients and Prometheus reach each member at its service name"))
		assert.Equal(t, "new", setting("initial-cluster-state"), "the cluster is created by the first `make up`")
	}
}

func TestTheDemoIsBuiltFromItsDockerfile(t *testing.T) {
	s := service(t, "demo")
	require.NotNil(t, s.Build, lesson("the demo service has no build", "it runs the workbook's own code, so it is built from it"))
	assert.Equal(t, "deploy/demo.Dockerfile", s.Build.Dockerfile)
	assert.Empty(t, s.Command, lesson("the demo service overrides the Dockerfile's CMD",
		"the flags live in one place, the Dockerfile, where TestDemoCommandUsesTheDemosFlags checks them"))
	assert.Contains(t, sortedKeys(s.DependsOn), "jaeger", lesson("the demo does not depend on jaeger",
		"it sends its traces there from its first request"))
}
