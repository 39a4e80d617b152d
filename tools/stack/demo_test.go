package stack

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkDemoArgs checks the flags of one way of running the demo: only
// cmd/demo's flags, each of the four that wire it up, and a -load it can use.
func checkDemoArgs(t *testing.T, where string, args []string) map[string]string {
	t.Helper()
	known := demoFlags
	if defined, ok := demoSourceFlags(t); ok {
		known = defined
	}
	got := map[string]string{}
	for _, name := range flagNames(args) {
		assert.Contains(t, known, name, lesson(
			fmt.Sprintf("%s passes -%s to the demo\n    want: one of -%s", where, name, strings.Join(known, ", -")),
			"cmd/demo exits on a flag it does not define, and the stack comes up without it"))
		got[name], _ = flagValue(args, name)
	}
	for _, name := range []string{"checkout", "payments", "otlp", "load"} {
		assert.Contains(t, got, name, lesson(where+" does not pass -"+name,
			"-checkout and -payments say where Prometheus finds them, -otlp where traces go, -load makes the traffic to look at"))
	}
	if v, ok := got["load"]; ok {
		n, err := strconv.ParseFloat(v, 64)
		assert.NoError(t, err, "%s: -load %q is not a number", where, v)
		assert.Positive(t, n, "%s: -load is orders per second; 0 leaves the graphs empty", where)
	}
	return got
}

func TestDemoCommandUsesTheDemosFlags(t *testing.T) {
	cmd := readDockerfile(t, "deploy/demo.Dockerfile").cmd
	require.GreaterOrEqual(t, len(cmd), 1)
	assert.Equal(t, "demo", cmd[0], lesson(
		"the Dockerfile runs "+cmd[0],
		"the demo binary itself must be PID 1, not `go run`, so that docker stop's SIGTERM reaches it and it shuts down gracefully"))
	got := checkDemoArgs(t, "deploy/demo.Dockerfile", cmd[1:])

	demo := published(service(t, "demo"))
	for _, job := range []string{"checkout", "payments"} {
		host, port := hostPort(t, got[job])
		assert.Empty(t, host, lesson(fmt.Sprintf("-%s %s listens on one address only", job, got[job]),
			"in a container the service listens on every interface, or Prometheus and the port mapping cannot reach it"))
		assert.Contains(t, demo, port, "-%s %s: the demo service publishes port %d", job, got[job], port)
	}
	host, port := hostPort(t, got["otlp"])
	assert.Equal(t, "jaeger", host, "-otlp sends traces to the jaeger service")
	assert.Equal(t, 4317, port, "-otlp speaks OTLP over gRPC, which Jaeger takes on 4317")
	assert.Contains(t, published(service(t, "jaeger")), port)
}

func TestLocalScriptRunsTheDemoOnLoopback(t *testing.T) {
	script := readFile(t, "deploy/local/run.sh")
	line := regexp.MustCompile(`(?m)^\s*start demo .*$`).FindString(script)
	require.NotEmpty(t, line, "deploy/local/run.sh starts the demo with a `start demo ...` line")
	args := strings.Fields(strings.ReplaceAll(line, `"`, ""))[3:]
	args = slices.DeleteFunc(args, func(a string) bool { return a == "$@" })
	got := checkDemoArgs(t, "deploy/local/run.sh", args)

	var local promConfig
	readYAML(t, localProm, &local)
	targets := local.targets()
	for _, job := range []string{"checkout", "payments"} {
		assert.Equal(t, []string{got[job]}, targets[job], lesson(
			fmt.Sprintf("run.sh runs %s on %s, the local Prometheus scrapes %v", job, got[job], targets[job]),
			"Prometheus scrapes where the program listens"))
	}

	var jaeger struct {
		Receivers struct {
			OTLP struct {
				Protocols struct {
					GRPC struct {
						Endpoint string `yaml:"endpoint"`
					} `yaml:"grpc"`
				} `yaml:"protocols"`
			} `yaml:"otlp"`
		} `yaml:"receivers"`
	}
	readYAML(t, "deploy/local/jaeger.yaml", &jaeger)
	assert.Equal(t, jaeger.Receivers.OTLP.Protocols.GRPC.Endpoint, got["otlp"], lesson(
		"the demo sends traces to "+got["otlp"]+", where the local Jaeger does not listen",
		"-otlp names Jaeger's OTLP gRPC endpoint, or no trace arrives"))

	// Each local etcd member listens where the local Prometheus scrapes it.
	for _, target := range targets["etcd"] {
		_, port := hostPort(t, target)
		assert.Contains(t, script, fmt.Sprintf(":%d:", port), "run.sh starts an etcd member with client port %d", port)
	}
}

// Every flag the stack passes must be one that cmd/demo defines.
func TestTheDemoDefinesTheFlagsTheStackPasses(t *testing.T) {
	defined, ok := demoSourceFlags(t)
	require.True(t, ok, "there is no cmd/demo: the Dockerfile and run.sh run it")
	for _, name := range demoFlags {
		assert.Contains(t, defined, name, lesson(
			"cmd/demo defines no -"+name+" flag",
			"the Dockerfile, run.sh and docs/stack.md run the demo with it"))
	}
}

// demoSourceFlags returns the flags cmd/demo defines, and false when there
// is no cmd/demo yet.
func demoSourceFlags(t *testing.T) ([]string, bool) {
	t.Helper()
	dir := filepath.Join(root, "cmd", "demo")
	if _, err := os.Stat(dir); err != nil {
		return nil, false
	}
	defined := definedFlags(t, dir)
	require.NotEmpty(t, defined, "cmd/demo defines no flags with the flag package")
	return defined, true
}

// definedFlags returns the names of the flags that the Go files in dir
// define with the flag package: flag.String("name", ...), fs.IntVar(&v, "name", ...).
func definedFlags(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			arg := -1
			switch sel.Sel.Name {
			case "String", "Int", "Int64", "Uint", "Uint64", "Bool", "Float64", "Duration", "Func", "BoolFunc":
				arg = 0
			case "StringVar", "IntVar", "Int64Var", "UintVar", "Uint64Var", "BoolVar", "Float64Var", "DurationVar", "Var", "TextVar":
				arg = 1
			}
			if arg >= 0 && arg < len(call.Args) {
				if lit, ok := call.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						names = append(names, s)
					}
				}
			}
			return true
		})
	}
	return names
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	require.NoError(t, err)
	return string(b)
}
