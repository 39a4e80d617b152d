package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// root is the workbook's top folder, seen from this package's folder.
const root = "../.."

// The demo's metrics, as cmd/demo serves them on /metrics.
var demoMetrics = []string{
	"http_requests_total",
	"http_request_duration_seconds_bucket", "http_request_duration_seconds_sum", "http_request_duration_seconds_count",
	"http_requests_in_flight",
}

// demoFlags are cmd/demo's flags: the ones the Dockerfile and run.sh may pass.
var demoFlags = []string{"checkout", "payments", "otlp", "load", "reference"}

// lesson is a failure message: what went wrong, then the rule it breaks and
// why the rule matters.
func lesson(what, rule string) string { return what + "\nrule: " + rule }

var (
	projectOnce sync.Once
	project     *types.Project
	projectErr  error
)

// loadCompose loads docker-compose.yml as `docker compose` would, with no
// environment of its own, so that the result does not depend on the machine.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	projectOnce.Do(func() {
		var opts *cli.ProjectOptions
		opts, projectErr = cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
			cli.WithWorkingDirectory(root), cli.WithEnv(nil))
		if projectErr == nil {
			project, projectErr = cli.ProjectFromOptions(context.Background(), opts)
		}
	})
	require.NoError(t, projectErr, lesson("docker-compose.yml does not load",
		"docker compose must accept the file, or `make up` starts nothing"))
	return project
}

func service(t *testing.T, name string) types.ServiceConfig {
	t.Helper()
	s, ok := loadCompose(t).Services[name]
	require.True(t, ok, lesson(fmt.Sprintf("docker-compose.yml has no service %q", name),
		"the stack's services keep the names its configs and docs use"))
	return s
}

// env returns a service's environment variable, and whether it is set.
func env(s types.ServiceConfig, key string) (string, bool) {
	v, ok := s.Environment[key]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

// flagValue returns the value of -name or --name in args, given as
// "-name=v" or "-name v", and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		for _, p := range []string{"-" + name, "--" + name} {
			if a == p && i+1 < len(args) {
				return args[i+1], true
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// flagNames returns the names of the flags in args, in order.
func flagNames(args []string) []string {
	var names []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			names = append(names, strings.SplitN(strings.TrimLeft(a, "-"), "=", 2)[0])
		}
	}
	return names
}

func readYAML(t *testing.T, rel string, into any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, into), lesson(rel+" is not valid YAML", "the program that reads it would not start"))
}

// dockerfile is what the stack's checks need of deploy/demo.Dockerfile.
type dockerfile struct {
	from []string // the images of the FROM lines
	cmd  []string // the CMD, in exec form
}

func readDockerfile(t *testing.T, rel string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	require.NoError(t, err)
	var d dockerfile
	// Join continued lines, so that each instruction is one line.
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		word, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(word) {
		case "FROM":
			d.from = append(d.from, strings.Fields(rest)[0])
		case "CMD":
			d.cmd = nil
			require.NoError(t, json.Unmarshal([]byte(rest), &d.cmd), lesson(
				fmt.Sprintf("%s: the CMD is not a JSON list: %s", rel, rest),
				"the exec form runs the program itself, without a shell in between to eat its signals"))
		}
	}
	return d
}

// hostPort splits "host:port" with a numeric port.
func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	require.NoError(t, err, "%q is not host:port", addr)
	n, err := strconv.Atoi(p)
	require.NoError(t, err, "%q has no numeric port", addr)
	return h, n
}

// published returns the container ports a service publishes, with the host
// address and port each is published on.
func published(s types.ServiceConfig) map[int]string {
	m := map[int]string{}
	for _, p := range s.Ports {
		m[int(p.Target)] = net.JoinHostPort(p.HostIP, p.Published)
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
