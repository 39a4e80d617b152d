package idempotency

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Store is the service's durable storage: the only thing that survives a
// crash. A Service keeps everything that must outlive the process here.
// Each method call is one operation on the store.
type Store interface {
	// Get returns the value stored under key, and whether there is one.
	Get(key string) (value []byte, found bool, err error)
	// Scan returns every entry whose key starts with prefix, in key order.
	Scan(prefix string) ([]Entry, error)
	// Commit applies writes, in order, as one operation: all of them or
	// none of them.
	Commit(writes ...Write) error
}

// Entry is one key and its value.
type Entry struct {
	Key   string
	Value []byte
}

// Write is one change in a Commit: Put or Delete.
type Write struct {
	Key    string
	Value  []byte
	Delete bool
}

// Put stores value under key.
func Put(key string, value []byte) Write { return Write{Key: key, Value: value} }

// Delete removes key.
func Delete(key string) Write { return Write{Key: key, Delete: true} }

func (w Write) String() string {
	if w.Delete {
		return "delete " + w.Key
	}
	return "put " + w.Key
}

// Balances live in the store under "balance/" + account, as decimal text.
// Keep your own keys under another prefix.
const BalancePrefix = "balance/"

// BalanceKey is where an account's balance is stored.
func BalanceKey(account string) string { return BalancePrefix + account }

// EncodeBalance is how a balance is stored.
func EncodeBalance(cents int64) []byte { return []byte(strconv.FormatInt(cents, 10)) }

// DecodeBalance reads a stored balance.
func DecodeBalance(b []byte) (int64, error) {
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stored balance %q: %w", b, err)
	}
	return v, nil
}

// ReadBalance returns an account's balance. An account that was never
// funded has a balance of 0.
func ReadBalance(s Store, account string) (int64, error) {
	b, ok, err := s.Get(BalanceKey(account))
	if err != nil || !ok {
		return 0, err
	}
	return DecodeBalance(b)
}

// Fund sets an account's balance directly, outside any charge: how tests
// and demos open accounts.
func Fund(s Store, account string, cents int64) error {
	return s.Commit(Put(BalanceKey(account), EncodeBalance(cents)))
}

// MemStore is a Store in memory. Tests treat it as the disk: a "crash" throws
// away the Service but keeps the MemStore.
type MemStore struct {
	mu   sync.Mutex
	data map[string][]byte
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{data: map[string][]byte{}} }

// Get implements Store.
func (s *MemStore) Get(key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	return clone(v), ok, nil
}

// Scan implements Store.
func (s *MemStore) Scan(prefix string) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entry
	for k, v := range s.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, Entry{Key: k, Value: clone(v)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Commit implements Store.
func (s *MemStore) Commit(writes ...Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range writes {
		if w.Delete {
			delete(s.data, w.Key)
		} else {
			s.data[w.Key] = clone(w.Value)
		}
	}
	return nil
}

// Len is the number of entries stored.
func (s *MemStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data)
}

// clone copies a value, so that a caller changing the slice it passed or got
// cannot change what is stored.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
