//go:build solution

package breaker

import (
	"fmt"
	"sync"
	"time"
)

// Breaker is a circuit breaker, safe for use by many goroutines.
type Breaker struct {
	cfg       Config
	maxProbes uint32
	timeout   time.Duration
	bucketLen time.Duration // 0 without a rolling window

	mu     sync.Mutex
	state  State
	epoch  uint64    // bumped on every state change and fixed-window reset
	start  time.Time // when the epoch began; bucket ages count from here
	expiry time.Time // open: when probes may start; closed with a fixed window: when counts reset
	counts Counts    // the totals of the window
	// buckets is the rolling window, a ring indexed by age % len; nil
	// without one. age is the age of the newest bucket, in bucketLen
	// steps since start.
	buckets []Counts
	age     uint64
	// changes are the state changes made under mu and not yet reported:
	// OnStateChange is called after mu is released.
	changes []change
}

// change is one change of state, for OnStateChange.
type change struct{ from, to State }

// New returns a closed breaker. It panics if cfg is not valid: a breaker
// configured wrong protects nothing, and that is best found at start.
func New(cfg Config) *Breaker {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	b := &Breaker{cfg: cfg, maxProbes: cfg.MaxProbes, timeout: cfg.Timeout}
	if b.maxProbes == 0 {
		b.maxProbes = DefaultMaxProbes
	}
	if b.timeout == 0 {
		b.timeout = DefaultTimeout
	}
	if cfg.Buckets > 1 {
		b.bucketLen = cfg.Window / time.Duration(cfg.Buckets)
		b.buckets = make([]Counts, cfg.Buckets)
	}
	b.newEpoch(time.Now())
	return b
}

// Allow reports whether a call may go ahead now. When the breaker is open it
// returns ErrOpen, and in the half-open state ErrTooManyProbes once
// it has let MaxProbes calls through: the caller must not make the call. When
// it allows the call, the caller reports the result with Record and the
// Ticket it got.
func (b *Breaker) Allow() (Ticket, error) {
	b.mu.Lock()
	defer b.unlock()
	b.refresh(time.Now())
	g := Ticket{Epoch: b.epoch, Bucket: b.age}
	switch {
	case b.state == Open:
		return g, ErrOpen
	case b.state == HalfOpen && b.counts.Requests >= b.maxProbes:
		return g, ErrTooManyProbes
	}
	b.counts.Requests++
	if b.buckets != nil {
		b.buckets[b.age%uint64(len(b.buckets))].Requests++
	}
	return g, nil
}

// Record reports the result of a call that Allow let through: err nil for
// a success. A result from an earlier epoch (the breaker changed state, or
// its fixed window was reset, while the call was in progress) is ignored:
// it says something about a past the breaker has already judged.
func (b *Breaker) Record(g Ticket, err error) {
	b.mu.Lock()
	defer b.unlock()
	now := time.Now()
	b.refresh(now)
	if g.Epoch != b.epoch {
		return
	}
	if err == nil {
		b.onSuccess(g.Bucket, now)
	} else {
		b.onFailure(g.Bucket, now)
	}
}

// State returns the breaker's state now.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.unlock()
	b.refresh(time.Now())
	return b.state
}

// Counts returns the counts of the current state (and window).
func (b *Breaker) Counts() Counts {
	b.mu.Lock()
	defer b.unlock()
	b.refresh(time.Now())
	return b.counts
}

func (b *Breaker) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return fmt.Sprintf("%v %+v", b.state, b.counts)
}

// unlock releases mu, then reports the changes made while it was held. The
// listener is not the breaker's code: called under mu, a listener that
// reads the breaker would wait for the lock its own caller holds.
func (b *Breaker) unlock() {
	changes := b.changes
	b.changes = nil
	b.mu.Unlock()
	for _, c := range changes {
		b.cfg.OnStateChange(c.from, c.to)
	}
}

func (b *Breaker) onSuccess(bucket uint64, now time.Time) {
	b.count(bucket, true)
	if b.state == HalfOpen && b.counts.ConsecutiveSuccesses >= b.maxProbes {
		b.setState(Closed, now)
	}
}

// onFailure applies the trip rule at every failure of the current epoch,
// counted or not: the window may have moved since the last check.
func (b *Breaker) onFailure(bucket uint64, now time.Time) {
	switch b.state {
	case Closed:
		b.count(bucket, false)
		if b.cfg.ShouldTrip(b.counts) {
			b.setState(Open, now)
		}
	case HalfOpen:
		b.setState(Open, now) // one failed probe is enough
	}
}

// count adds a result to the totals and to the bucket its call started in,
// unless that bucket has rolled out of the window.
func (b *Breaker) count(bucket uint64, success bool) {
	if b.buckets != nil {
		if bucket > b.age || b.age-bucket >= uint64(len(b.buckets)) {
			return
		}
		add(&b.buckets[bucket%uint64(len(b.buckets))], success)
	}
	add(&b.counts, success)
}

func add(c *Counts, success bool) {
	if success {
		c.TotalSuccesses++
		c.ConsecutiveSuccesses++
		c.ConsecutiveFailures = 0
	} else {
		c.TotalFailures++
		c.ConsecutiveFailures++
		c.ConsecutiveSuccesses = 0
	}
}

// refresh applies what the passing of time does: an open breaker whose
// Timeout has passed becomes half-open; a closed one's window moves on.
func (b *Breaker) refresh(now time.Time) {
	switch b.state {
	case Closed:
		if !b.expiry.IsZero() && now.After(b.expiry) {
			b.newEpoch(now) // a fixed window ends: a fresh count
		} else if b.buckets != nil {
			b.roll(uint64(now.Sub(b.start) / b.bucketLen))
		}
	case Open:
		if now.After(b.expiry) {
			b.setState(HalfOpen, now)
		}
	}
}

// roll advances the rolling window to age, dropping the buckets that fall
// out of it from the totals. Runs of consecutive results are not
// windowed: "in a row" means in a row.
func (b *Breaker) roll(age uint64) {
	n := uint64(len(b.buckets))
	for b.age < age {
		if age-b.age >= n {
			consecutive := b.counts
			b.clearCounts()
			b.counts.ConsecutiveFailures = consecutive.ConsecutiveFailures
			b.counts.ConsecutiveSuccesses = consecutive.ConsecutiveSuccesses
			b.age = age
			return
		}
		b.age++
		oldest := &b.buckets[b.age%n]
		b.counts.Requests -= oldest.Requests
		b.counts.TotalSuccesses -= oldest.TotalSuccesses
		b.counts.TotalFailures -= oldest.TotalFailures
		*oldest = Counts{}
	}
}

func (b *Breaker) setState(s State, now time.Time) {
	if b.state == s {
		return
	}
	if b.cfg.OnStateChange != nil {
		b.changes = append(b.changes, change{b.state, s})
	}
	b.state = s
	b.newEpoch(now)
}

// newEpoch starts a new cycle: results of calls started before it will not
// count, and the counts start from zero.
func (b *Breaker) newEpoch(now time.Time) {
	b.epoch++
	b.start = now
	b.clearCounts()
	b.age = 0
	b.expiry = time.Time{}
	switch b.state {
	case Closed:
		if b.cfg.Window > 0 && b.buckets == nil {
			b.expiry = now.Add(b.cfg.Window)
		}
	case Open:
		b.expiry = now.Add(b.timeout)
	}
}

func (b *Breaker) clearCounts() {
	b.counts = Counts{}
	for i := range b.buckets {
		b.buckets[i] = Counts{}
	}
}

// Ticket is the ticket Allow hands out with each call, for Record to
// take back with the call's result: when the call started.
type Ticket struct {
	Epoch  uint64 // the breaker's cycle: bumped by every state change and fixed-window reset
	Bucket uint64 // the bucket of the rolling window the call started in
}
