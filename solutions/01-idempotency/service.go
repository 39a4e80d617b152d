//go:build solution

package idempotency

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// DefaultRetention is how long a key is remembered when Config says nothing.
// Stripe, for one, keeps keys for 24 hours.
const DefaultRetention = 24 * time.Hour

// Config tunes a Service.
type Config struct {
	// Retention is how long the service remembers a key (part 4). Zero
	// means DefaultRetention.
	Retention time.Duration
}

// recordPrefix is where the service keeps the receipt of each key.
const recordPrefix = "idem/"

func recordKey(key string) string { return recordPrefix + key }

// sweepsPerRetention is how often expired records are deleted: with four
// sweeps per window, the store holds at most 1¼ windows of keys.
const sweepsPerRetention = 4

// Service charges accounts. It is safe for concurrent use.
type Service struct {
	store     Store
	retention time.Duration

	mu        sync.Mutex
	inflight  map[string]chan struct{} // key → closed when the call working on it returns
	accounts  map[string]*accountLock
	nextSweep time.Time
	sweeping  bool
}

// accountLock serializes the charges of one account; users counts the
// callers holding or waiting for it, so that it can be dropped when idle.
type accountLock struct {
	mu    sync.Mutex
	users int
}

// New returns a service that keeps its state in store. The service trusts
// nothing but the store, so a restart is just New on the same store.
func New(store Store, cfg Config) *Service {
	retention := cfg.Retention
	if retention == 0 {
		retention = DefaultRetention
	}
	return &Service{
		store:     store,
		retention: retention,
		inflight:  map[string]chan struct{}{},
		accounts:  map[string]*accountLock{},
	}
}

// Charge debits req.Amount from req.Account, once per req.Key.
func (s *Service) Charge(ctx context.Context, req ChargeRequest) (Receipt, error) {
	if err := req.Validate(); err != nil {
		return Receipt{}, err
	}
	// Duplicates of a key queue behind the call that holds its claim, then
	// find its receipt in the store.
	release, err := s.claim(ctx, req.Key)
	if err != nil {
		return Receipt{}, err
	}
	defer release()

	// Different keys may charge the same account; the read of the balance
	// and the write of the new one must not interleave (a lost update).
	unlock := s.lockAccount(req.Account)
	receipt, err := s.charge(req, time.Now())
	unlock()
	if err == nil {
		s.maybeSweep()
	}
	return receipt, err
}

func (s *Service) charge(req ChargeRequest, now time.Time) (Receipt, error) {
	if prev, found, err := s.lookup(req.Key, now); err != nil {
		return Receipt{}, err
	} else if found {
		return prev, sameRequest(prev, req)
	}
	balance, err := ReadBalance(s.store, req.Account)
	if err != nil {
		return Receipt{}, err
	}
	if balance < req.Amount {
		return Receipt{}, fmt.Errorf("%w: %s has %d, the charge is %d", ErrInsufficientFunds, req.Account, balance, req.Amount)
	}
	receipt := Receipt{Key: req.Key, Account: req.Account, Amount: req.Amount, Balance: balance - req.Amount, ChargedAt: now}
	data, err := json.Marshal(receipt)
	if err != nil {
		return Receipt{}, err
	}
	// One Commit for both: a crash leaves the debit and the record of the
	// key together or not at all. Separately, a crash between them either
	// charges twice on the retry or forgets to charge.
	if err := s.store.Commit(Put(BalanceKey(req.Account), EncodeBalance(receipt.Balance)), Put(recordKey(req.Key), data)); err != nil {
		return Receipt{}, err
	}
	return receipt, nil
}

// sameRequest checks that a retry asks for what the stored receipt was for.
func sameRequest(prev Receipt, req ChargeRequest) error {
	if prev.Account != req.Account || prev.Amount != req.Amount {
		return fmt.Errorf("%w: key %q charged %d to %s, not %d to %s",
			ErrKeyReused, req.Key, prev.Amount, prev.Account, req.Amount, req.Account)
	}
	return nil
}

// lookup returns the receipt stored for key, unless it has expired.
func (s *Service) lookup(key string, now time.Time) (Receipt, bool, error) {
	data, found, err := s.store.Get(recordKey(key))
	if err != nil || !found {
		return Receipt{}, false, err
	}
	var r Receipt
	if err := json.Unmarshal(data, &r); err != nil {
		return Receipt{}, false, fmt.Errorf("record of key %q: %w", key, err)
	}
	if s.expired(r, now) {
		return Receipt{}, false, nil
	}
	return r, true, nil
}

func (s *Service) expired(r Receipt, now time.Time) bool {
	return !now.Before(r.ChargedAt.Add(s.retention))
}

// claim makes the caller the only one working on key until it calls
// release. Others asking for the same key wait, then try again.
func (s *Service) claim(ctx context.Context, key string) (release func(), err error) {
	for {
		release, busy := s.tryClaim(key)
		if release != nil {
			return release, nil
		}
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// tryClaim claims key if nobody holds it; otherwise it returns a channel
// that is closed when the holder is done.
func (s *Service) tryClaim(key string) (release func(), busy <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if done, ok := s.inflight[key]; ok {
		return nil, done
	}
	done := make(chan struct{})
	s.inflight[key] = done
	return func() {
		s.mu.Lock()
		delete(s.inflight, key) // or the map grows by one entry per key, forever
		s.mu.Unlock()
		close(done)
	}, nil
}

func (s *Service) lockAccount(account string) (unlock func()) {
	s.mu.Lock()
	l := s.accounts[account]
	if l == nil {
		l = &accountLock{}
		s.accounts[account] = l
	}
	l.users++
	s.mu.Unlock()

	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		if l.users--; l.users == 0 {
			delete(s.accounts, account)
		}
		s.mu.Unlock()
	}
}

// maybeSweep deletes expired records, a few times per retention window, so
// that the store holds about one window of keys however long the service
// runs.
func (s *Service) maybeSweep() {
	now := time.Now()
	s.mu.Lock()
	if s.sweeping || now.Before(s.nextSweep) {
		s.mu.Unlock()
		return
	}
	s.sweeping = true
	s.nextSweep = now.Add(s.retention / sweepsPerRetention)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.sweeping = false
		s.mu.Unlock()
	}()

	entries, err := s.store.Scan(recordPrefix)
	if err != nil {
		return // the next sweep tries again
	}
	var deletes []Write
	var releases []func()
	defer func() {
		for _, release := range releases {
			release()
		}
	}()
	for _, e := range entries {
		var r Receipt
		if json.Unmarshal(e.Value, &r) != nil || !s.expired(r, now) {
			continue
		}
		// A charge may be writing a new record for this key right now;
		// claim the key and read it again, or the delete could remove a
		// record written after the scan.
		release, _ := s.tryClaim(r.Key)
		if release == nil {
			continue
		}
		releases = append(releases, release)
		if _, found, err := s.lookup(r.Key, now); err == nil && !found {
			deletes = append(deletes, Delete(e.Key))
		}
	}
	if len(deletes) > 0 {
		_ = s.store.Commit(deletes...) // on failure, the next sweep tries again
	}
}
