package idempotency

// Replicas: part 6.
//
//	r := NewReplica(etcdClient, "/payments/")
//	receipt, err := r.Charge(ctx, req)
//
// One service process is one point of failure, so the service runs as
// several replicas behind a load balancer, and a client's retry may reach a
// different replica than the first attempt did. A lock in one process
// cannot stop another process: the replicas share their state (balances
// and keys) in etcd, whose transactions compare and write several keys in
// one atomic step.
//
// Layout in etcd, under the replica's prefix:
//
//	prefix + BalanceKey(account)   the balance, EncodeBalance'd
//	prefix + (your choice)         your records of keys
//
// The etcd calls (go.etcd.io/etcd/client/v3, imported as clientv3):
//
//	resp, err := kv.Get(ctx, key)        // resp.Kvs: none if key is absent; Kvs[0].Value, .ModRevision, ...
//	resp, err := kv.Txn(ctx).
//	    If(cmp...).                       // all must hold for Then to run
//	    Then(op...).                      // clientv3.OpGet(k), clientv3.OpPut(k, v), clientv3.OpDelete(k)
//	    Else(op...).                      // runs when a comparison fails
//	    Commit()                          // atomic; resp.Succeeded says which branch ran
//	resp.Responses[i].GetResponseRange().Kvs   // what the i-th OpGet of that branch read
//
// The comparisons a Txn can make, each on one key k, with "=", "!=", "<"
// or ">":
//
//	clientv3.Compare(clientv3.Value(k), "=", "v")           // k's value
//	clientv3.Compare(clientv3.Version(k), "=", n)           // writes to k since its creation, that one included; 0: absent
//	clientv3.Compare(clientv3.CreateRevision(k), "=", rev)  // the revision that created k; 0: absent
//	clientv3.Compare(clientv3.ModRevision(k), "=", rev)     // the revision of k's last write; 0: absent

import (
	"context"

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

// Charge does what Service.Charge does (parts 1 and 3), with the state in
// etcd: once per key across all replicas, even when duplicates reach two
// replicas at the same moment, and even when a replica dies halfway.
func (r *Replica) Charge(ctx context.Context, req ChargeRequest) (Receipt, error) {
	// TODO(part 6): the outcomes of Service.Charge, decided from etcd. Any
	// other replica may be reading and writing the same keys between any
	// two of your calls, or may have died halfway through the same
	// request.
	return Receipt{}, notImplemented("Replica.Charge in replica.go")
}
