package idempotency

// The payment service: parts 1 to 4.
//
//	s := New(store, Config{Retention: 24 * time.Hour})
//	receipt, err := s.Charge(ctx, ChargeRequest{Key: k, Account: "alice", Amount: 500})
//
// Charge debits an account at most once per idempotency key, and answers
// every retry with the receipt of the first attempt. What the service must
// remember lives in its Store (store.go); a restarted service is a new
// Service over the same store.
//
// The article this workbook starts from suggests:
//
//	def process_order(request_id, user_id, amount):
//	    if not check_request_id(request_id):   # Ensure uniqueness
//	        raise DuplicateRequestError
//	    deduct_user_balance(user_id, amount)
//	    log_transaction(request_id, user_id, amount)
//
// The guide has it in Go, as a first draft to start part 1 from. Part 1's
// tests say what is wrong with it; parts 2 and 3 find more.

import (
	"context"
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

// Service charges accounts. It is safe for concurrent use.
type Service struct {
	store     Store
	retention time.Duration

	// TODO(part 2): whatever concurrent calls of Charge need to share.
}

// New returns a service that keeps its state in store. It is also how a
// crashed service restarts: New on the same store must carry on where the
// old service stopped (part 3).
func New(store Store, cfg Config) *Service {
	retention := cfg.Retention
	if retention == 0 {
		retention = DefaultRetention
	}
	return &Service{store: store, retention: retention}
}

// Charge debits req.Amount from req.Account, once per req.Key.
//
//   - A request that is not valid fails with ErrInvalidRequest
//     (req.Validate does the check).
//   - A new key debits the account and returns a receipt. If the balance
//     is too low, it fails with ErrInsufficientFunds and changes nothing.
//   - A key seen before, with the same account and amount, returns the
//     receipt of its first charge and changes nothing.
//   - A key seen before with a different account or amount fails with
//     ErrKeyReused and changes nothing.
func (s *Service) Charge(ctx context.Context, req ChargeRequest) (Receipt, error) {
	// TODO(part 1): the outcomes above. A retry's receipt must come back
	// from the store exactly as the first attempt's went in, so pick an
	// encoding (encoding/json does it) and keys of your own that do not
	// start with BalancePrefix.
	//
	// TODO(part 2): many goroutines call Charge at once, with any mix of
	// keys and accounts. The outcomes above must hold for every one of
	// them, however their store operations interleave; a duplicate of a
	// call still in progress gets that call's receipt, not an error.
	//
	// TODO(part 3): the process can crash after or during any store
	// operation, and an operation can fail once without a crash. Whatever
	// happened, when the client retries on New over the same store, the
	// payment is charged exactly once and the retry gets its receipt.
	//
	// TODO(part 4): a key is remembered for s.retention after its charge,
	// then forgotten: a request after that is a new charge. What the
	// service keeps must stay bounded however many keys go by.
	return Receipt{}, notImplemented("Service.Charge in service.go")
}
