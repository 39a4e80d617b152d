package live

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStorageCopiesValuesInAndOut(t *testing.T) {
	s := newMemStorage()
	v := []byte("abc")
	s.Put("k", v)
	v[0] = 'X' // the caller's slice is not the stored one
	got, ok := s.Get("k")
	assert.True(t, ok)
	assert.Equal(t, []byte("abc"), got)
	got[0] = 'Y' // nor is the one handed out
	got, _ = s.Get("k")
	assert.Equal(t, []byte("abc"), got)

	s.Put("empty", nil)
	got, ok = s.Get("empty")
	assert.True(t, ok, "an empty value is still a value")
	assert.Empty(t, got)

	s.Delete("k")
	_, ok = s.Get("k")
	assert.False(t, ok)
}
