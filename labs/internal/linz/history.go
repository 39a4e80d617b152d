package linz

import (
	"math"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// History is what clients did, as they did it: each operation's call, its
// return and what it returned. It is safe for use by many goroutines.
type History struct {
	now func() time.Duration

	mu  sync.Mutex
	ops []porcupine.Operation
}

// NewHistory returns an empty history that reads the time with now: the
// simulator's World.Now, or a clock of the test's own. Two operations are
// concurrent when their [call, return] intervals meet, so a clock that
// does not move makes every operation concurrent with every other, which
// is correct but slow to check.
func NewHistory(now func() time.Duration) *History {
	return &History{now: now}
}

// Call records that client called in now. It returns the function that
// records the answer: ok(value) when the client got one (value is Get's;
// ignored otherwise), or gaveUp() when it never did. An operation left
// with neither counts as never answered.
func (h *History) Call(client int, in Input) (ok func(value string), gaveUp func()) {
	h.mu.Lock()
	id := len(h.ops)
	h.ops = append(h.ops, porcupine.Operation{
		ClientId: client, Input: in, Call: int64(h.now()),
		Output: Output{}, Return: math.MaxInt64, Metadata: id,
	})
	h.mu.Unlock()
	var once sync.Once
	ok = func(value string) {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.ops[id].Output = Output{Value: value, Known: true}
			h.ops[id].Return = int64(h.now())
		})
	}
	// An operation without an answer may take effect at any time after its
	// call, or never: it stays open to the end of the history.
	gaveUp = func() { once.Do(func() {}) }
	return ok, gaveUp
}

// Len is the number of operations recorded.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ops)
}

// operations returns a copy of the history, for checking.
func (h *History) operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}
