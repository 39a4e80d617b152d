//go:build solution

package sharding

// Moving a shard under live traffic: part 6. You write this file.
//
// The API the tests use (keep these names and signatures):
//
//	Move(ctx context.Context, cli *clientv3.Client, holders func(gid int) Holder, shard, to int) error
//	Resume(ctx context.Context, cli *clientv3.Client, holders func(gid int) Holder) error
//
// Move hands shard from the group that holds it in the shard map (at
// MapKey) to group to, while clients go on sending requests; holders(gid)
// reaches a group (moving.go). A mover can crash at any step: Resume,
// called by the next one, finishes or undoes the move it left.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// moveRecord is a move, as recorded at MoveKey.
type moveRecord struct {
	Shard, From, To int
	Cut             bool // the map already names To
}

// Move moves shard to group to, and returns once the map names to and the
// old group has dropped its copy.
func Move(ctx context.Context, cli *clientv3.Client, holders func(gid int) Holder, shard, to int) error {
	cfg, _, err := readMap(ctx, cli)
	if err != nil {
		return err
	}
	if shard < 0 || shard >= len(cfg.Shards) {
		return fmt.Errorf("shard %d: %w", shard, ErrNoShard)
	}
	if _, there := cfg.Groups[to]; !there {
		return fmt.Errorf("group %d is not in configuration %d: %w", to, cfg.Num, ErrBadGroup)
	}
	from := cfg.Shards[shard]
	if from == to {
		return nil
	}
	if from == 0 {
		return fmt.Errorf("no group holds shard %d: %w", shard, ErrNoShard)
	}
	// Record the move before any group changes, so that whoever resumes
	// it knows what to finish.
	rec := moveRecord{Shard: shard, From: from, To: to}
	value, _ := json.Marshal(rec)
	txn, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(MoveKey), "=", 0)).
		Then(clientv3.OpPut(MoveKey, string(value))).Commit()
	if err != nil {
		return err
	}
	if !txn.Succeeded {
		return ErrMoveInProgress
	}
	return finish(ctx, cli, holders, rec)
}

// Resume finishes, or undoes, the move recorded at MoveKey, if there is
// one.
func Resume(ctx context.Context, cli *clientv3.Client, holders func(gid int) Holder) error {
	resp, err := cli.Get(ctx, MoveKey)
	if err != nil || len(resp.Kvs) == 0 {
		return err
	}
	var rec moveRecord
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		return fmt.Errorf("the move recorded in etcd: %w", err)
	}
	return finish(ctx, cli, holders, rec)
}

// finish takes a recorded move on from wherever it stopped. Each step can
// be done twice: a crashed mover may have done it already.
func finish(ctx context.Context, cli *clientv3.Client, holders func(gid int) Holder, rec moveRecord) error {
	src, dst := holders(rec.From), holders(rec.To)
	if !rec.Cut {
		cfg, rev, err := readMap(ctx, cli)
		if err != nil {
			return err
		}
		if !movable(cfg, rec) {
			return abandon(ctx, cli, src, dst, rec, cfg)
		}
		if err := src.Freeze(ctx, rec.Shard); err != nil {
			return err
		}
		data, err := src.Export(ctx, rec.Shard)
		if err != nil {
			return err
		}
		if err := dst.Import(ctx, rec.Shard, data); err != nil {
			return err
		}
		// The cut-over: the next map and the record that it is done, in
		// one transaction that holds only if the map is the one read.
		for {
			next := cfg
			next.Num++
			next.Shards = append([]int(nil), cfg.Shards...)
			next.Shards[rec.Shard] = rec.To
			rec.Cut = true
			mapValue, _ := json.Marshal(next)
			recValue, _ := json.Marshal(rec)
			txn, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(MapKey), "=", rev)).
				Then(clientv3.OpPut(MapKey, string(mapValue)), clientv3.OpPut(MoveKey, string(recValue))).Commit()
			if err != nil {
				return err
			}
			if txn.Succeeded {
				break
			}
			// The map changed under the move: cut over on the new one,
			// if the move still makes sense there.
			rec.Cut = false
			if cfg, rev, err = readMap(ctx, cli); err != nil {
				return err
			}
			if !movable(cfg, rec) {
				return abandon(ctx, cli, src, dst, rec, cfg)
			}
		}
	}
	if err := src.Drop(ctx, rec.Shard); err != nil {
		return err
	}
	_, err := cli.Delete(ctx, MoveKey)
	return err
}

// movable reports whether cfg still has rec's shard on its source group,
// and its destination group.
func movable(cfg Config, rec moveRecord) bool {
	_, there := cfg.Groups[rec.To]
	return there && rec.Shard < len(cfg.Shards) && cfg.Shards[rec.Shard] == rec.From
}

// abandon undoes a move the map has overtaken: the source serves the
// shard again, and the destination forgets its copy.
func abandon(ctx context.Context, cli *clientv3.Client, src, dst Holder, rec moveRecord, cfg Config) error {
	if err := src.Unfreeze(ctx, rec.Shard); err != nil && !errors.Is(err, ErrNoShard) {
		return err
	}
	if err := dst.Drop(ctx, rec.Shard); err != nil {
		return err
	}
	if _, err := cli.Delete(ctx, MoveKey); err != nil {
		return err
	}
	return fmt.Errorf("moving shard %d from group %d to %d: configuration %d changed the shards: %w", rec.Shard, rec.From, rec.To, cfg.Num, ErrStaleMap)
}

// readMap reads the shard map, and the revision at which it last changed.
func readMap(ctx context.Context, cli *clientv3.Client) (Config, int64, error) {
	resp, err := cli.Get(ctx, MapKey)
	if err != nil {
		return Config{}, 0, err
	}
	if len(resp.Kvs) == 0 {
		return Config{}, 0, errors.New("there is no shard map in etcd")
	}
	cfg, err := DecodeMap(resp.Kvs[0].Value)
	return cfg, resp.Kvs[0].ModRevision, err
}
