package cluster

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Redis side, one pipelined round trip per interval: XADD each queued
// batch to the events stream (trimmed to about streamMaxLen entries), ZADD
// new blocks to the blocks sorted set (scored by their end), GET the epoch
// and XREAD what the other replicas added since the last entry read; once
// a second, ZREMRANGEBYSCORE and ZREMRANGEBYRANK drop ended blocks and cap
// the set, and the replica marks itself alive (replicas.go). Streams rather than pub/sub: a replica that misses a round trip
// reads what it missed from the stream instead of losing it, and every
// replica makes one request per interval however many others there are.

// exchange sends the queue and the new blocks and applies what the others
// sent.
func (s *Syncer) exchange(ctx context.Context) error {
	wallNow := time.Now().UnixMilli()
	pipe := s.rdb.Pipeline()
	for _, b := range s.queue {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.events, MaxLen: streamMaxLen, Approx: true, Values: []any{"b", b.payload}})
	}
	if len(s.zadds) > 0 {
		pipe.ZAdd(ctx, s.keys.blocks, s.zadds...)
	}
	clean := time.Since(s.cleaned) >= time.Second
	var replicas *redis.StringSliceCmd
	if clean {
		pipe.ZRemRangeByScore(ctx, s.keys.blocks, "-inf", "("+strconv.FormatInt(wallNow, 10))
		pipe.ZRemRangeByRank(ctx, s.keys.blocks, 0, -maxBlocks-1)
		replicas = s.markReplica(ctx, pipe, wallNow)
	}
	epoch := pipe.Get(ctx, s.keys.epoch)
	read := pipe.XRead(ctx, &redis.XReadArgs{Streams: []string{s.keys.events, s.lastID}, Count: readCount, Block: -1})
	start := time.Now()
	cmds, err := pipe.Exec(ctx)
	if err = firstError(cmds, err); err != nil {
		return err
	}
	s.m.roundTrip.Observe(time.Since(start).Seconds())
	for _, b := range s.queue {
		for k, n := range b.counts {
			if n > 0 {
				s.m.sent[k].Add(float64(n))
			}
		}
	}
	s.queue, s.zadds = s.queue[:0], s.zadds[:0]
	if clean {
		s.cleaned = time.Now()
		s.learnReplicas(replicas)
	}
	if epoch.Val() != s.epoch {
		return errEpoch
	}
	streams, _ := read.Result()
	for _, st := range streams {
		for _, m := range st.Messages {
			s.lastID = m.ID
			payload, ok := m.Values["b"].(string)
			if !ok || len(m.Values) != 1 {
				s.m.rejected[ReasonMalformed].Inc()
				continue
			}
			s.receive(payload, wallNow)
		}
	}
	return nil
}

// connect catches up after a new connection or a loss of Redis's data: it
// sets the epoch and the shared secret if there are none, reads them,
// learns the blocks in force and where
// the events stream ends, and queues this replica's own blocks in force
// for the next exchange, since Redis may have lost them.
func (s *Syncer) connect(ctx context.Context) error {
	wallNow := time.Now().UnixMilli()
	pipe := s.rdb.Pipeline()
	pipe.SetNX(ctx, s.keys.epoch, newEpoch(), 0)
	epoch := pipe.Get(ctx, s.keys.epoch)
	pipe.SetNX(ctx, s.keys.secret, newSecret(), 0)
	secret := pipe.Get(ctx, s.keys.secret)
	replicas := s.markReplica(ctx, pipe, wallNow)
	blocks := pipe.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: s.keys.blocks, Start: "(" + strconv.FormatInt(wallNow, 10), Stop: "+inf", ByScore: true, Count: maxBlocks,
	})
	last := pipe.XRevRangeN(ctx, s.keys.events, "+", "-", 1)
	cmds, err := pipe.Exec(ctx)
	if err = firstError(cmds, err); err != nil {
		return err
	}
	s.epoch = epoch.Val()
	s.learnSecret(secret.Val())
	s.learnReplicas(replicas)
	s.lastID = "0-0"
	if msgs := last.Val(); len(msgs) > 0 {
		s.lastID = msgs[0].ID
	}
	for _, member := range blocks.Val() {
		s.receive(member, wallNow)
	}
	n := s.reannounce(wallNow)
	s.o.Log.Infof("cluster: connected to Redis %s; %d blocks in force learned, %d of this replica's announced again",
		s.describe(), len(blocks.Val()), n)
	return nil
}

// firstError returns the first error of a pipeline's commands that is not
// redis.Nil (a key or a stream entry that is not there).
func firstError(cmds []redis.Cmder, err error) error {
	for _, c := range cmds {
		if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
			return e
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	return nil
}
