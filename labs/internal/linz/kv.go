// Package linz checks that what clients saw of a key-value store is
// linearizable: that there is one order of all their operations, each
// taking effect at one instant between its call and its return, in which
// every Get returns the latest Put and Appends before it. The labs' tests
// record a history as their clients run (History) and check it in one line
// (Check); porcupine does the search, and a history that fails is drawn as
// an HTML page the learner can open.
package linz

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"
)

// Kind is what an operation does.
type Kind int

// The operations of the store.
const (
	Get Kind = iota
	Put
	Append
)

func (k Kind) String() string {
	switch k {
	case Get:
		return "get"
	case Put:
		return "put"
	case Append:
		return "append"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Input is an operation as a client called it.
type Input struct {
	Kind  Kind
	Key   string
	Value string // Put's and Append's
}

// Output is what the client heard back. Known is false for an operation
// whose answer never came (the client gave up): it may have taken effect or
// not, and a Get without an answer says nothing.
type Output struct {
	Value string // Get's
	Known bool
}

func (in Input) describe(out Output) string {
	switch in.Kind {
	case Get:
		if !out.Known {
			return fmt.Sprintf("get(%q) → no answer", in.Key)
		}
		return fmt.Sprintf("get(%q) → %q", in.Key, out.Value)
	case Put:
		return fmt.Sprintf("put(%q, %q)", in.Key, in.Value)
	}
	return fmt.Sprintf("append(%q, %q)", in.Key, in.Value)
}

// KV is the sequential specification of the store: one string per key,
// "" until written. Operations on different keys never constrain each
// other, so the history is checked one key at a time.
var KV = porcupine.Model{
	Partition: byKey,
	Init:      func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(string), input.(Input), output.(Output)
		switch in.Kind {
		case Get:
			return !out.Known || out.Value == s, s
		case Put:
			return true, in.Value
		}
		return true, s + in.Value
	},
	DescribeOperation: func(input, output any) string { return input.(Input).describe(output.(Output)) },
	DescribeState:     func(state any) string { return fmt.Sprintf("%q", state) },
}

// byKey splits a history into one history per key, in key order.
func byKey(history []porcupine.Operation) [][]porcupine.Operation {
	perKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(Input).Key
		perKey[k] = append(perKey[k], op)
	}
	keys := make([]string, 0, len(perKey))
	for k := range perKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]porcupine.Operation, len(keys))
	for i, k := range keys {
		out[i] = perKey[k]
	}
	return out
}
