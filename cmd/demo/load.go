package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// loadStats counts the load generator's orders by how they ended.
type loadStats struct {
	sent, ok, declined, failed atomic.Int64
}

func (s *loadStats) String() string {
	return fmt.Sprintf("%d orders: %d ok, %d declined, %d failed", s.sent.Load(), s.ok.Load(), s.declined.Load(), s.failed.Load())
}

// maxInFlight bounds the load generator's requests in flight, so that a
// stuck checkout does not make it pile up goroutines.
const maxInFlight = 64

// generate sends rate orders a second to checkout until ctx ends, from 50
// users, and now and then looks one up. It reports every 10 seconds.
func generate(ctx context.Context, checkout string, rate float64, stats *loadStats, report io.Writer) {
	if rate <= 0 {
		return
	}
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	every := time.NewTicker(10 * time.Second)
	defer every.Stop()
	slots := make(chan struct{}, maxInFlight)
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-every.C:
			fmt.Fprintf(report, "load: %s so far\n", stats)
			continue
		case <-tick.C:
		}
		select {
		case slots <- struct{}{}:
		default:
			stats.failed.Add(1) // checkout is not keeping up
			continue
		}
		go func(n int) {
			defer func() { <-slots }()
			order(ctx, client, checkout, n, stats)
		}(n)
	}
}

// order sends order n, and every fifth time looks up an earlier one.
func order(ctx context.Context, client *http.Client, checkout string, n int, stats *loadStats) {
	stats.sent.Add(1)
	body := fmt.Sprintf(`{"id":"o-%d","user":"user-%d","amount_cents":%d}`, n, 1+rand.IntN(50), 500+rand.IntN(20000))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, checkout+"/checkout", strings.NewReader(body))
	if err != nil {
		stats.failed.Add(1)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		stats.failed.Add(1)
		return
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		stats.ok.Add(1)
	case http.StatusPaymentRequired:
		stats.declined.Add(1)
	default:
		stats.failed.Add(1)
	}
	if n%5 == 0 {
		if req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/orders/o-%d", checkout, 1+rand.IntN(n)), nil); err == nil {
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
}
