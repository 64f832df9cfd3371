package cluster

import (
	"context"
	"encoding/hex"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The replicas that share the limits: each adds itself, scored by the
// time, to a sorted set once a second (in the exchange) and when it
// connects, drops the members not seen for replicaTTL, and counts the
// rest. A zone's limiter then allows each client 1/N of its bursts
// (ratelimit's SetShare): a scanner that spreads its queries over N
// replicas spends about one burst before they hear of each other, not N.
// While Redis is away a replica keeps the last count it had.

const (
	replicaTTL  = 5000 // ms a replica counts after its last mark
	maxReplicas = 1024 // the most members the count reads
)

// markReplica queues, in pipe, this replica's mark and the count of the
// replicas alive at wallNow; apply the result with learnReplicas.
func (s *Syncer) markReplica(ctx context.Context, pipe redis.Pipeliner, wallNow int64) *redis.StringSliceCmd {
	pipe.ZAdd(ctx, s.keys.replicas, redis.Z{Score: float64(wallNow), Member: hex.EncodeToString(s.id[:])})
	pipe.ZRemRangeByScore(ctx, s.keys.replicas, "-inf", "("+strconv.FormatInt(wallNow-replicaTTL, 10))
	return pipe.ZRange(ctx, s.keys.replicas, 0, maxReplicas-1)
}

// learnReplicas sets the replicas' count from a markReplica's result and,
// when it changed, divides each zone's bursts by it.
func (s *Syncer) learnReplicas(members *redis.StringSliceCmd) {
	n := max(len(members.Val()), 1)
	s.m.replicas.Set(float64(n))
	if n == s.replicas {
		return
	}
	s.o.Log.Infof("cluster: %d replicas share the limits through Redis %s; each allows a client 1/%d of the bursts", n, s.describe(), n)
	s.replicas = n
	for _, z := range s.zones {
		z.limiter.SetShare(n)
	}
}
