package cluster

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/veildns/veil/test/harness"
)

// TestClusterACLUser: replicas that reach Redis as the ACL user of the
// Kubernetes example (deploy/kubernetes/redis.yaml, the rules
// docs/operations.md recommends: veil's key prefix and the commands it
// sends, nothing else) connect, share counts and spread a block; the same
// user cannot touch another key.
func TestClusterACLUser(t *testing.T) {
	manifest, err := os.ReadFile(filepath.Join(harness.RepoRoot(t), "deploy", "kubernetes", "redis.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*user veil on \S+ (.+)$`).FindSubmatch(manifest)
	if m == nil {
		t.Fatal("deploy/kubernetes/redis.yaml has no line `user veil on PASSWORD RULES...`")
	}
	rules := strings.Fields(string(m[1]))
	r := harness.StartRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := []any{"ACL", "SETUSER", "veil", "reset", "on", ">acl-test-password"}
	for _, rule := range rules {
		args = append(args, rule)
	}
	if err := admin.Do(ctx, args...).Err(); err != nil {
		t.Fatalf("ACL SETUSER with the example's rules %v: %v", rules, err)
	}

	line := "cluster redis://veil:acl-test-password@" + r.Addr + " interval 100ms"
	rs := startReplicasLine(t, 2, line, "stub off")
	const src = "127.0.8.1"
	scan(t, src, addrs(rs[:1]), 300, time.Millisecond)
	if _, ok := waitFor(2*time.Second, func() bool { return blocked(t, src, rs[1].Addr) }); !ok {
		t.Error("a block did not spread through Redis as the ACL user")
	}
	for _, s := range rs {
		if errs := metric(t, s, "coredns_veil_cluster_sync_errors_total"); errs != 0 {
			t.Errorf("%s: %v failed round trips as the ACL user", s.Label, errs)
		}
	}
	user := redis.NewClient(&redis.Options{Addr: r.Addr, Username: "veil", Password: "acl-test-password"})
	t.Cleanup(func() { _ = user.Close() })
	if err := user.Set(ctx, "other:key", "x", 0).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("the ACL user wrote a key outside veil's prefix (err %v)", err)
	}
	if err := user.Del(ctx, "veil:events").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("the ACL user ran DEL, which veil does not need (err %v)", err)
	}
}
