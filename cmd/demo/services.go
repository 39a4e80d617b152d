package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	obs "github.com/distlings/distlings/labs/06-observability"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// demo is the two services, running.
type demo struct {
	ctx                      context.Context
	cfg                      config
	checkoutURL, paymentsURL string
	served                   chan served
	providers                []*sdktrace.TracerProvider
	load                     *loadStats
	payments                 *chaos
}

type served struct {
	service string
	err     error
}

// start binds both services' ports, serves them until ctx ends, and starts
// the load generator.
func start(ctx context.Context, cfg config, logs io.Writer) (*demo, error) {
	d := &demo{ctx: ctx, cfg: cfg, served: make(chan served, 2), load: &loadStats{}}
	payLn, err := net.Listen("tcp", cfg.payments)
	if err != nil {
		return nil, fmt.Errorf("payments: %w", err)
	}
	coLn, err := net.Listen("tcp", cfg.checkout)
	if err != nil {
		payLn.Close()
		return nil, fmt.Errorf("checkout: %w", err)
	}
	d.paymentsURL, d.checkoutURL = urlOf(payLn), urlOf(coLn)

	fail := func(err error) (*demo, error) {
		payLn.Close()
		coLn.Close()
		return nil, err
	}
	payTel, payReg, err := d.telemetry(ctx, "payments", logs)
	if err != nil {
		return fail(err)
	}
	coTel, coReg, err := d.telemetry(ctx, "checkout", logs)
	if err != nil {
		return fail(err)
	}

	// Each service's Health is the one its /readyz answers from and the one
	// Serve drains, so that readiness says no once the shutdown begins.
	pay := &obs.Payments{Bank: bank(cfg), Log: payTel.Log}
	payHealth := obs.NewHealth(time.Second)
	d.payments = &chaos{next: obs.Service(payTel, pay.Routes(), payHealth, payReg)}
	d.serve(payLn, "payments", d.payments, payHealth)

	co := &obs.Checkout{Payments: d.paymentsURL, Client: obs.TracedClient(coTel), Log: coTel.Log}
	probe := obs.Check{Name: "payments", Probe: obs.PaymentsProbe(&http.Client{}, d.paymentsURL)}
	coHealth := obs.NewHealth(time.Second, probe)
	d.serve(coLn, "checkout", obs.Service(coTel, co.Routes(), coHealth, coReg), coHealth)

	go generate(ctx, d.checkoutURL, cfg.load, d.load, logs)
	return d, nil
}

// serve runs one service under the lab's Serve (part 4).
func (d *demo) serve(ln net.Listener, service string, h http.Handler, health *obs.Health) {
	go func() { d.served <- served{service, obs.Serve(d.ctx, ln, h, health, d.cfg.grace)} }()
}

// telemetry makes one service's registry, tracer provider and logger.
func (d *demo) telemetry(ctx context.Context, service string, logs io.Writer) (obs.Telemetry, *prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))),
	}
	if d.cfg.otlp != "" {
		exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(d.cfg.otlp), otlptracegrpc.WithInsecure())
		if err != nil {
			return obs.Telemetry{}, nil, fmt.Errorf("OTLP exporter for %s: %w", d.cfg.otlp, err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	d.providers = append(d.providers, tp)
	log := slog.New(obs.NewLogHandler(slog.NewJSONHandler(logs, nil))).With("service", service)
	return obs.Telemetry{
		Service:    service,
		Registry:   reg,
		Tracer:     tp,
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		Log:        log,
	}, reg, nil
}

// wait returns once both services have shut down, and their traces are
// sent. A Serve that does not return in time is reported, not waited for.
func (d *demo) wait() error {
	var errs []error
	select {
	case s := <-d.served:
		// A service stopped before anyone asked it to.
		errs = append(errs, fmt.Errorf("%s stopped by itself: %v", s.service, s.err))
		if d.ctx.Err() == nil {
			d.flush()
			return errors.Join(errs...)
		}
	case <-d.ctx.Done():
	}
	deadline := time.After(d.cfg.grace + d.cfg.stuck)
	for len(errs) < 2 {
		select {
		case s := <-d.served:
			if s.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.service, s.err))
			} else {
				errs = append(errs, nil)
			}
		case <-deadline:
			d.flush()
			return errors.Join(append(errs, fmt.Errorf("Serve has not returned %v after the shutdown began (grace %v): is part 4 of lab 06 done? (grader test 06 4)", d.cfg.grace+d.cfg.stuck, d.cfg.grace))...)
		}
	}
	d.flush()
	return errors.Join(errs...)
}

// flush sends the spans still buffered, within a bound.
func (d *demo) flush() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tp := range d.providers {
		tp.Shutdown(ctx)
	}
}

// urlOf is the loopback URL of a listener, whatever address it was given.
func urlOf(ln net.Listener) string {
	return fmt.Sprintf("http://127.0.0.1:%d", ln.Addr().(*net.TCPAddr).Port)
}

// bank is the payments service's bank: it takes 10 to 120 ms, declines
// some cards and fails now and then.
func bank(cfg config) func(ctx context.Context, c obs.Charge) error {
	return func(ctx context.Context, c obs.Charge) error {
		t := time.NewTimer(time.Duration(10+rand.IntN(110)) * time.Millisecond)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		switch p := rand.Float64(); {
		case p < cfg.fail:
			return errors.New("the bank timed out")
		case p < cfg.fail+cfg.decline:
			return obs.ErrDeclined
		}
		return nil
	}
}

// chaos takes payments down and up on request: while it is down, every
// route but /chaos answers 503, its liveness too, as a crashed service's
// would fail.
type chaos struct {
	next http.Handler
	down atomic.Bool
}

func (c *chaos) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/chaos/down":
		c.down.Store(true)
		fmt.Fprintln(w, "payments is down: checkout's /readyz should say so, and its orders fail with 502")
	case r.Method == http.MethodPost && r.URL.Path == "/chaos/up":
		c.down.Store(false)
		fmt.Fprintln(w, "payments is back")
	case c.down.Load():
		http.Error(w, "payments is down (POST /chaos/up brings it back)", http.StatusServiceUnavailable)
	default:
		c.next.ServeHTTP(w, r)
	}
}
