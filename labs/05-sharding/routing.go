package sharding

// What part 5's router and the replica groups share: the shard map's place
// in etcd, how a key finds its shard, and how a group answers a request
// for a shard it does not hold. This file is given.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// MapKey is the etcd key of the shard map: the JSON of the newest Config.
const MapKey = "/distlings/shardmap"

// KeyShard is the logical shard of key, among shards of them.
func KeyShard(key string, shards int) int { return int(Hash(key) % uint64(shards)) }

// Request is a client's operation on one key.
type Request struct {
	ID    string // unique to the request: a group applies each request once
	Key   string
	Op    string // "get", "put" or "append"
	Value string
}

// Group is a replica group as a router reaches it.
type Group interface {
	// Do runs req for a router whose map is configuration num. A group
	// whose own configuration is older than num catches up with it first;
	// one that does not hold the key's shard in its configuration runs
	// nothing and answers an error that wraps ErrWrongGroup.
	Do(ctx context.Context, num int, req Request) (string, error)
}

// ErrWrongGroup is a group's answer for a key whose shard it does not
// hold.
var ErrWrongGroup = errors.New("wrong group")

// ErrStaleMap is Publish's answer when cfg is not the next configuration.
var ErrStaleMap = errors.New("not the next configuration")

// DecodeMap reads the value of MapKey.
func DecodeMap(value []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(value, &c); err != nil {
		return Config{}, fmt.Errorf("the shard map in etcd is not a configuration: %w", err)
	}
	return c, nil
}

// Publish makes cfg the shard map, if it is the next configuration after
// the one in etcd (or the first, when there is none): one transaction
// that compares the map it read with the map it replaces.
func Publish(ctx context.Context, cli *clientv3.Client, cfg Config) error {
	value, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	resp, err := cli.Get(ctx, MapKey)
	if err != nil {
		return err
	}
	cmp := clientv3.Compare(clientv3.CreateRevision(MapKey), "=", 0)
	if len(resp.Kvs) > 0 {
		cur, err := DecodeMap(resp.Kvs[0].Value)
		if err != nil {
			return err
		}
		if cfg.Num != cur.Num+1 {
			return fmt.Errorf("%w: the map is configuration %d, and %d does not follow it", ErrStaleMap, cur.Num, cfg.Num)
		}
		cmp = clientv3.Compare(clientv3.ModRevision(MapKey), "=", resp.Kvs[0].ModRevision)
	}
	txn, err := cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(MapKey, string(value))).Commit()
	if err != nil {
		return err
	}
	if !txn.Succeeded {
		return fmt.Errorf("%w: the map changed while configuration %d was published", ErrStaleMap, cfg.Num)
	}
	return nil
}
