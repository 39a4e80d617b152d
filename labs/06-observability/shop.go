package observability

// The two services this lab instruments, given. You need not change this
// file: parts 1 to 4 wrap these routes, they do not rewrite them.
//
// A shop's checkout takes an order and asks the payments service to charge
// it, over HTTP:
//
//	client ──POST /checkout──▶ checkout ──POST /charges──▶ payments
//	                                                         └─ the bank
//
// Payments answers 201 with a receipt, 402 when the bank declines the card,
// 400 for a charge it cannot read, and 500 when the bank fails. Checkout
// passes 201 and 402 on, and answers 502 when payments fails or cannot be
// reached.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
)

// ErrDeclined is the bank's answer to a card it will not charge.
var ErrDeclined = errors.New("card declined")

// Charge is what checkout asks payments to do.
type Charge struct {
	OrderID     string `json:"order_id"`
	User        string `json:"user"`
	AmountCents int64  `json:"amount_cents"`
}

// Receipt is payments' answer to a charge it made.
type Receipt struct {
	ChargeID    string `json:"charge_id"`
	OrderID     string `json:"order_id"`
	AmountCents int64  `json:"amount_cents"`
}

// Payments is the payments service.
type Payments struct {
	// Bank charges a card: nil, ErrDeclined, or another error when the
	// bank itself fails. A nil Bank approves every charge.
	Bank func(ctx context.Context, c Charge) error
	// Log receives the service's own log lines.
	Log *slog.Logger

	mu      sync.Mutex
	charges map[string]Receipt
}

// Routes returns the payments service's routes.
func (p *Payments) Routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /charges", p.charge)
	mux.HandleFunc("GET /charges/{id}", p.show)
	return mux
}

func (p *Payments) charge(w http.ResponseWriter, r *http.Request) {
	var c Charge
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil || c.OrderID == "" || c.AmountCents <= 0 {
		answer(w, http.StatusBadRequest, map[string]string{"error": "a charge needs an order_id and a positive amount_cents"})
		return
	}
	err := error(nil)
	if p.Bank != nil {
		err = p.Bank(r.Context(), c)
	}
	switch {
	case errors.Is(err, ErrDeclined):
		logger(p.Log).WarnContext(r.Context(), "charge declined", "order_id", c.OrderID)
		answer(w, http.StatusPaymentRequired, map[string]string{"error": "declined"})
		return
	case err != nil:
		logger(p.Log).ErrorContext(r.Context(), "bank failed", "order_id", c.OrderID, "err", err.Error())
		answer(w, http.StatusInternalServerError, map[string]string{"error": "the bank failed"})
		return
	}
	rc := Receipt{ChargeID: "ch_" + c.OrderID, OrderID: c.OrderID, AmountCents: c.AmountCents}
	p.mu.Lock()
	if p.charges == nil {
		p.charges = map[string]Receipt{}
	}
	p.charges[rc.ChargeID] = rc
	p.mu.Unlock()
	logger(p.Log).InfoContext(r.Context(), "charged", "order_id", c.OrderID, "amount_cents", c.AmountCents)
	answer(w, http.StatusCreated, rc)
}

func (p *Payments) show(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	rc, ok := p.charges[r.PathValue("id")]
	p.mu.Unlock()
	if !ok {
		answer(w, http.StatusNotFound, map[string]string{"error": "no such charge"})
		return
	}
	answer(w, http.StatusOK, rc)
}

// Checkout is the checkout service.
type Checkout struct {
	// Payments is the payments service's base URL, "http://host:port".
	Payments string
	// Client sends checkout's requests to payments.
	Client *http.Client
	// Log receives the service's own log lines.
	Log *slog.Logger

	mu     sync.Mutex
	orders map[string]Receipt
}

// Order is what a client sends to checkout.
type Order struct {
	ID          string `json:"id"`
	User        string `json:"user"`
	AmountCents int64  `json:"amount_cents"`
}

// Routes returns the checkout service's routes.
func (c *Checkout) Routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", c.checkout)
	mux.HandleFunc("GET /orders/{id}", c.show)
	return mux
}

func (c *Checkout) checkout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var o Order
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil || o.ID == "" {
		answer(w, http.StatusBadRequest, map[string]string{"error": "an order needs an id"})
		return
	}
	body, _ := json.Marshal(Charge{OrderID: o.ID, User: o.User, AmountCents: o.AmountCents})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Payments, "/")+"/charges", bytes.NewReader(body))
	if err != nil {
		answer(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if id := RequestIDFrom(ctx); id != "" {
		req.Header.Set(RequestIDHeader, id) // one order, one id, in both services' logs
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		logger(c.Log).ErrorContext(ctx, "payments unreachable", "order_id", o.ID, "err", err.Error())
		answer(w, http.StatusBadGateway, map[string]string{"error": "payments unreachable"})
		return
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		var rc Receipt
		if err := json.NewDecoder(resp.Body).Decode(&rc); err != nil {
			logger(c.Log).ErrorContext(ctx, "payments answered nonsense", "order_id", o.ID, "err", err.Error())
			answer(w, http.StatusBadGateway, map[string]string{"error": "payments answered nonsense"})
			return
		}
		c.mu.Lock()
		if c.orders == nil {
			c.orders = map[string]Receipt{}
		}
		c.orders[o.ID] = rc
		c.mu.Unlock()
		answer(w, http.StatusCreated, rc)
	case http.StatusPaymentRequired:
		logger(c.Log).WarnContext(ctx, "card declined", "order_id", o.ID)
		answer(w, http.StatusPaymentRequired, map[string]string{"error": "declined"})
	default:
		logger(c.Log).ErrorContext(ctx, "payments failed", "order_id", o.ID, "status", resp.StatusCode)
		answer(w, http.StatusBadGateway, map[string]string{"error": "payments failed"})
	}
}

func (c *Checkout) show(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	rc, ok := c.orders[r.PathValue("id")]
	c.mu.Unlock()
	if !ok {
		answer(w, http.StatusNotFound, map[string]string{"error": "no such order"})
		return
	}
	answer(w, http.StatusOK, rc)
}

// PaymentsProbe checks that the payments service at base answers its
// liveness route: checkout's readiness depends on it (part 4).
func PaymentsProbe(client *http.Client, base string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/livez", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("payments answered %s", resp.Status)
		}
		return nil
	}
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
