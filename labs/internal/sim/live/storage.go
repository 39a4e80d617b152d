package live

import (
	"bytes"
	"sync"
)

// memStorage is a node's sim.Storage: a map in memory that the cluster
// keeps across the node's crashes. Values are copied in and out, so
// neither the node nor a later incarnation can change what is stored by
// changing a slice it holds.
type memStorage struct {
	// Only the node's loop uses it, and two incarnations never run at
	// once; the lock costs nothing and keeps that an optimisation rather
	// than a requirement.
	mu   sync.Mutex
	data map[string][]byte
}

func newMemStorage() *memStorage { return &memStorage{data: make(map[string][]byte)} }

func (s *memStorage) Get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	return bytes.Clone(v), ok
}

func (s *memStorage) Put(key string, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = append([]byte{}, value...) // nil is stored as empty
}

func (s *memStorage) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, key)
}
