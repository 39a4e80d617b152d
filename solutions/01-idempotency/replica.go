//go:build solution

package idempotency

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Replica is one replica of the payment service. Any number of replicas can
// share one etcd prefix; a Replica is safe for concurrent use.
type Replica struct {
	kv     clientv3.KV
	prefix string
}

// NewReplica returns a replica that keeps its state in etcd under prefix.
func NewReplica(kv clientv3.KV, prefix string) *Replica {
	return &Replica{kv: kv, prefix: prefix}
}

// Charge does what Service.Charge does, with the state in etcd.
func (r *Replica) Charge(ctx context.Context, req ChargeRequest) (Receipt, error) {
	if err := req.Validate(); err != nil {
		return Receipt{}, err
	}
	recKey := r.prefix + recordKey(req.Key)
	balKey := r.prefix + BalanceKey(req.Account)
	for {
		// Both reads in one transaction: a consistent snapshot.
		read, err := r.kv.Txn(ctx).Then(clientv3.OpGet(recKey), clientv3.OpGet(balKey)).Commit()
		if err != nil {
			return Receipt{}, err
		}
		if kvs := read.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			var prev Receipt
			if err := json.Unmarshal(kvs[0].Value, &prev); err != nil {
				return Receipt{}, fmt.Errorf("record of key %q: %w", req.Key, err)
			}
			return prev, sameRequest(prev, req)
		}
		var balance, balRev int64 // an account never funded has balance 0 and no revision
		if kvs := read.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
			if balance, err = DecodeBalance(kvs[0].Value); err != nil {
				return Receipt{}, err
			}
			balRev = kvs[0].ModRevision
		}
		if balance < req.Amount {
			return Receipt{}, fmt.Errorf("%w: %s has %d, the charge is %d", ErrInsufficientFunds, req.Account, balance, req.Amount)
		}
		receipt := Receipt{Key: req.Key, Account: req.Account, Amount: req.Amount, Balance: balance - req.Amount, ChargedAt: time.Now()}
		data, err := json.Marshal(receipt)
		if err != nil {
			return Receipt{}, err
		}
		// Check and write in one step, for every replica at once: the key
		// is still unrecorded and the balance is still the one we read.
		write, err := r.kv.Txn(ctx).If(
			clientv3.Compare(clientv3.CreateRevision(recKey), "=", 0),
			clientv3.Compare(clientv3.ModRevision(balKey), "=", balRev),
		).Then(
			clientv3.OpPut(balKey, string(EncodeBalance(receipt.Balance))),
			clientv3.OpPut(recKey, string(data)),
		).Commit()
		if err != nil {
			return Receipt{}, err
		}
		if write.Succeeded {
			return receipt, nil
		}
		// Another replica recorded the key or moved the balance first:
		// read again and decide again.
	}
}
