package cluster

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/veildns/veil/cluster"
	"github.com/veildns/veil/ratelimit"
	"github.com/veildns/veil/test/harness"
)

// TestClusterRejectsBadData: whatever someone with write access puts in
// the shared keys, each bad record or payload is rejected and counted by
// reason, the good records beside them are applied, no replica stops, and
// no trusted client, nor the client a rejected block named, is blocked.
func TestClusterRejectsBadData(t *testing.T) {
	r := harness.StartRedis(t)
	const prefix = "veil:bad:"
	rs := startReplicas(t, 2, r, prefix)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	now := time.Now().UnixMilli()
	victim := netip.MustParseAddr("127.0.7.1")
	header := cluster.Header{Replica: [8]byte{0xba, 0xd}, Sent: now}
	block := func(zone string, addr netip.Addr, tier ratelimit.Tier, until int64) cluster.Record {
		p, _ := ratelimit.TierPrefix(addr, tier)
		return cluster.Record{Zone: zone, Kind: cluster.KindBlock, Key: ratelimit.Key{Addr: p.Addr()}, Tier: tier, Rule: ratelimit.RuleRate, Until: until}
	}
	good := cluster.Record{Zone: "example.org.", Kind: cluster.KindDenials, Key: ratelimit.Key{Addr: netip.MustParseAddr("127.0.7.2")}, Tier: ratelimit.TierV4Host, N: 5}
	mixed := cluster.Encode(header, []cluster.Record{
		good,
		block("example.org.", victim, ratelimit.TierV4Host, now+48*3600*1000),                                                 // future
		block("example.org.", netip.MustParseAddr("127.0.0.1"), ratelimit.TierV4Host, now+60_000),                             // exempt: trusted
		block("evil.test.", victim, ratelimit.TierV4Host, now+60_000),                                                         // zone
		block("example.org.", netip.MustParseAddr("2001:db8::"), ratelimit.TierV6Org, now+60_000),                             // fine, IPv6
		{Zone: "example.org.", Kind: cluster.KindDenials, Key: ratelimit.Key{Addr: victim}, Tier: ratelimit.TierV4Host, N: 1}, // made wrong below
	})
	// The last record (24 bytes, its tier the third): an IPv6 tier on an
	// IPv4 key (family).
	mixed[len(mixed)-24+2] = byte(ratelimit.TierV6Net)
	version2 := cluster.Encode(header, []cluster.Record{good})
	version2[2] = 2
	payloads := []struct {
		values []any
		reason cluster.Reason
	}{
		{[]any{"b", "not a batch"}, cluster.ReasonMalformed},
		{[]any{"b", cluster.Encode(header, []cluster.Record{good}), "x", "y"}, cluster.ReasonMalformed},
		{[]any{"b", version2}, cluster.ReasonVersion},
		{[]any{"b", strings.Repeat("V", cluster.MaxBatchBytes+1)}, cluster.ReasonOversized},
		{[]any{"b", mixed}, 0},
	}
	for _, p := range payloads {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: prefix + "events", Values: p.values}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A replica that connects reads the blocks set: a bad member there.
	if err := rdb.ZAdd(ctx, prefix+"blocks", redis.Z{Score: float64(now + 60_000), Member: "junk"}).Err(); err != nil {
		t.Fatal(err)
	}
	late := startReplicas(t, 1, r, prefix)[0]

	want := map[string]float64{"malformed": 2, "version": 1, "oversized": 1, "future": 1, "exempt": 1, "zone": 1, "family": 1}
	for _, s := range rs {
		if _, ok := waitFor(5*time.Second, func() bool {
			return metric(t, s, "coredns_veil_cluster_events_received_total", "kind", "denials") >= 1
		}); !ok {
			t.Fatalf("%s did not apply the good record", s.Label)
		}
		for reason, n := range want {
			if got := metric(t, s, "coredns_veil_cluster_events_rejected_total", "reason", reason); got != n {
				t.Errorf("%s: rejected{reason=%q} = %v, want %v", s.Label, reason, got, n)
			}
		}
		if got := metric(t, s, "coredns_veil_cluster_blocks_installed_total", "zone", "example.org."); got != 1 {
			t.Errorf("%s: %v blocks installed, want 1 (the IPv6 one)", s.Label, got)
		}
	}
	if _, ok := waitFor(5*time.Second, func() bool {
		return metric(t, late, "coredns_veil_cluster_events_rejected_total", "reason", "malformed") >= 1
	}); !ok {
		t.Error("the replica that connected later did not reject the bad member of the blocks set")
	}
	for _, s := range append(rs, late) {
		if blocked(t, victim.String(), s.Addr) {
			t.Errorf("%s blocks %v after a rejected block", s.Label, victim)
		}
		if blocked(t, harness.TrustedIP, s.Addr) {
			t.Errorf("%s blocks the trusted client", s.Label)
		}
	}
}

// TestClusterCarriesUnknownRules: a block that a newer replica publishes
// under a rule this version does not know is a block all the same:
// installed, counted as received and in cluster_unknown_rules_total, never
// rejected, so replicas of two versions can share one Redis.
func TestClusterCarriesUnknownRules(t *testing.T) {
	r := harness.StartRedis(t)
	const prefix = "veil:newer:"
	s := startReplicas(t, 1, r, prefix)[0]
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	scanner := netip.MustParseAddr("127.0.7.9")
	now := time.Now().UnixMilli()
	rec := cluster.Record{Zone: "example.org.", Kind: cluster.KindBlock, Key: ratelimit.Key{Addr: scanner}, Tier: ratelimit.TierV4Host,
		Rule: ratelimit.NumRules + 1, Until: now + 60_000}
	payload := cluster.Encode(cluster.Header{Replica: [8]byte{0x9e, 0x3}, Sent: now}, []cluster.Record{rec})
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: prefix + "events", Values: []any{"b", payload}}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok := waitFor(5*time.Second, func() bool {
		return metric(t, s, "coredns_veil_cluster_unknown_rules_total") == 1
	}); !ok {
		t.Fatalf("cluster_unknown_rules_total = %v, want 1", metric(t, s, "coredns_veil_cluster_unknown_rules_total"))
	}
	if got := metric(t, s, "coredns_veil_cluster_events_rejected_total", "reason", "malformed"); got != 0 {
		t.Errorf("a block by an unknown rule was rejected as malformed (%v)", got)
	}
	if !blocked(t, scanner.String(), s.Addr) {
		t.Errorf("%v is not blocked by a block of a newer replica's rule", scanner)
	}
}
