package nodetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

type ping struct{ Data []byte }

func TestEnvRecordsWhatTheNodeDidInOrder(t *testing.T) {
	e := NewEnv(2, 3, 1)
	assert.Equal(t, []sim.NodeID{1, 3}, e.Peers())
	id := e.SetTimer(time.Second, "tick")
	e.Storage().Put("k", []byte("v"))
	e.Send(1, ping{Data: []byte("a")})
	e.CancelTimer(id)
	log := e.Take()
	require.Len(t, log, 4)
	assert.Equal(t, []Kind{SetTimer, Put, Send, CancelTimer}, []Kind{log[0].Kind, log[1].Kind, log[2].Kind, log[3].Kind})
	assert.Empty(t, e.Take(), "Take empties the record")
	assert.Empty(t, e.Timers(), "a cancelled timer is no longer pending")
}

func TestSendRecordsACopy(t *testing.T) {
	e := NewEnv(1, 2, 1)
	data := []byte("abc")
	e.Send(2, ping{Data: data})
	data[0] = 'X'
	assert.Equal(t, "abc", string(Sent(e.Take())[2][0].(ping).Data), "what was sent does not change when the sender changes its slice")
}

func TestCrashAfterWritesStopsEverythingAfterTheKthWrite(t *testing.T) {
	e := NewEnv(1, 3, 1)
	e.CrashAfterWrites(1)
	e.Storage().Put("a", []byte("1"))
	e.Send(2, ping{})
	e.Storage().Put("b", []byte("2"))
	assert.True(t, e.Down())
	assert.Len(t, e.Take(), 1, "only the first write happened")
	_, ok := e.Storage().Get("b")
	assert.False(t, ok, "a write after the crash never reaches the disk")
	e.Reboot()
	v, ok := e.Storage().Get("a")
	assert.True(t, ok && string(v) == "1", "the storage survives a reboot")
}

func TestCrashOnSendLetsTheFirstMessageOut(t *testing.T) {
	e := NewEnv(1, 3, 1)
	e.CrashOnSend()
	e.Send(2, ping{})
	e.Send(3, ping{})
	sent := Sent(e.Take())
	assert.Len(t, sent[2], 1)
	assert.Empty(t, sent[3])
}

func TestFireMovesTheClockToTheTimer(t *testing.T) {
	e := NewEnv(1, 1, 1)
	e.SetTimer(3*time.Second, "late")
	e.SetTimer(time.Second, 7)
	p, ok := e.TimerLike(0)
	require.True(t, ok)
	e.Fire(p)
	assert.Equal(t, time.Second, e.Now())
	assert.Len(t, e.Timers(), 1)
}
