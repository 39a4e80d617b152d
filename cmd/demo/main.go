// Command demo runs lab 06's two services for real: checkout and
// payments on two ports, each with /metrics, /livez and /readyz, a load
// generator sending orders, and traces sent over OTLP when an endpoint is
// given. Point Prometheus and Jaeger at it (docs/stack.md), or curl it.
//
//	go run ./cmd/demo [-checkout :8080] [-payments :8081] [-otlp HOST:4317] [-load 5] [-reference]
//
// It runs your labs/06-observability code; with -reference, the reference
// solution's. To watch readiness follow a dependency, take payments down
// and up again:
//
//	curl -X POST localhost:8081/chaos/down
//	curl -X POST localhost:8081/chaos/up
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit codes, as for cmd/grader.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// config is what the flags set.
type config struct {
	checkout, payments string        // listen addresses
	otlp               string        // OTLP/gRPC endpoint, "" for none
	load               float64       // orders per second
	decline, fail      float64       // the bank's odds of declining, and of failing
	grace              time.Duration // for the requests in flight at shutdown
	stuck              time.Duration // how long after the grace to wait for a Serve that does not return
	reference          bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, childArgs, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return exitUsage
	}
	if cfg.reference && !reference {
		return runReference(childArgs, stdout, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := start(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return exitFail
	}
	which := "your labs/06-observability code"
	if reference {
		which = "the reference solution"
	}
	fmt.Fprintf(stdout, "demo: running %s\n  checkout  %s  (POST /checkout, /metrics, /livez, /readyz)\n  payments  %s  (POST /chaos/down, /chaos/up)\n", which, d.checkoutURL, d.paymentsURL)
	if cfg.otlp != "" {
		fmt.Fprintf(stdout, "  traces to %s over OTLP/gRPC\n", cfg.otlp)
	}
	fmt.Fprintln(stdout, "Ctrl-C stops it.")
	err = d.wait()
	fmt.Fprintf(stdout, "demo: stopped after %s\n", d.load)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return exitFail
	}
	return exitOK
}

// parse reads the flags. childArgs are the same flags without -reference,
// for the run on the reference solution.
func parse(args []string, stderr io.Writer) (config, []string, error) {
	cfg := config{stuck: 5 * time.Second}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.checkout, "checkout", ":8080", "checkout's listen `address`")
	fs.StringVar(&cfg.payments, "payments", ":8081", "payments' listen `address`")
	fs.StringVar(&cfg.otlp, "otlp", "", "send traces over OTLP/gRPC to this `host:port` (Jaeger: 4317)")
	fs.Float64Var(&cfg.load, "load", 5, "orders per second from the load generator (0: none)")
	fs.Float64Var(&cfg.decline, "decline", 0.1, "the bank's odds of declining a card")
	fs.Float64Var(&cfg.fail, "fail", 0.02, "the bank's odds of failing")
	fs.DurationVar(&cfg.grace, "grace", 10*time.Second, "how long the requests in flight get at shutdown")
	fs.BoolVar(&cfg.reference, "reference", false, "run the reference solution rather than your code")
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	if fs.NArg() > 0 {
		return cfg, nil, fmt.Errorf("unexpected argument %q: demo takes only flags (demo -h lists them)", fs.Arg(0))
	}
	for name, p := range map[string]float64{"decline": cfg.decline, "fail": cfg.fail} {
		if p < 0 || p > 1 {
			return cfg, nil, fmt.Errorf("-%s %v: odds are between 0 and 1", name, p)
		}
	}
	if cfg.load < 0 {
		return cfg, nil, fmt.Errorf("-load %v: a rate cannot be negative", cfg.load)
	}
	var child []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "reference" {
			child = append(child, "-"+f.Name+"="+f.Value.String())
		}
	})
	return cfg, child, nil
}
