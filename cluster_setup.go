package veil

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/coredns/caddy"

	"github.com/redis/go-redis/v9"

	"github.com/veildns/veil/cluster"
)

// clusterSettings is the limit block's cluster option: the Redis the
// replicas share their limiter state through (cluster/).
type clusterSettings struct {
	redis    *redis.Options
	prefix   string
	interval time.Duration
	// shield is the trusted and exempt networks: a block of a prefix
	// inside one, read from Redis, is rejected.
	shield []netip.Prefix
}

// clusterKeywords are the keywords of the cluster option.
var clusterKeywords = []string{"prefix", "interval", "tls-ca", "user", "password"}

const (
	allowedClusterOptions = "prefix, interval, tls-ca, user, password"
	defaultClusterPrefix  = "veil:"
	defaultSyncInterval   = 100 * time.Millisecond
	clusterSyntax         = "cluster redis://HOST:PORT|rediss://HOST:PORT|HOST:PORT [prefix PREFIX] [interval DURATION] [tls-ca FILE] [user NAME] [password SECRET]"
)

// parseCluster parses the cluster option of the limit block:
//
//	cluster URL|HOST:PORT [prefix PREFIX] [interval DURATION] [tls-ca FILE] [user NAME] [password SECRET]
//
// URL is redis://[USER[:PASSWORD]@]HOST:PORT[/DB] or rediss://... for
// TLS. Each keyword may be given once; a user or password both in the URL
// and as a keyword, or tls-ca without rediss://, is an error.
func parseCluster(c *caddy.Controller, args []string) (*clusterSettings, error) {
	if len(args) == 0 || len(args)%2 != 1 {
		// Not echoed: the arguments may hold a password.
		return nil, c.Errf("limit: cluster: got %d arguments, want an address and keyword-value pairs (a {$ENV} placeholder of an unset variable drops its argument); allowed: %s", len(args), clusterSyntax)
	}
	ro, err := cluster.ParseAddress(args[0])
	if err != nil {
		return nil, c.Errf("limit: cluster: %v; allowed: %s", err, clusterSyntax)
	}
	cs := &clusterSettings{redis: ro, prefix: defaultClusterPrefix, interval: defaultSyncInterval}
	seen := map[string]bool{}
	for i := 1; i < len(args); i += 2 {
		key, val := args[i], args[i+1]
		if !slices.Contains(clusterKeywords, key) {
			// Not echoed: a misplaced argument may be the password.
			return nil, c.Errf("limit: cluster: argument %d is not a keyword; allowed: %s", i+1, allowedClusterOptions)
		}
		if seen[key] {
			return nil, c.Errf("limit: cluster: %q given twice; give it once", key)
		}
		seen[key] = true
		if err := cs.setOption(key, val); err != nil {
			return nil, c.Errf("limit: cluster: %s: %v", key, err)
		}
	}
	return cs, nil
}

// setOption sets one keyword of the cluster option.
func (cs *clusterSettings) setOption(key, val string) error {
	ro := cs.redis
	switch key {
	case "prefix":
		if !validPrefix(val) {
			return fmt.Errorf("got %q; allowed: 1 to 64 printable ASCII characters without spaces (default veil:)", val)
		}
		cs.prefix = val
	case "interval":
		d, err := time.ParseDuration(val)
		if err != nil || d < 10*time.Millisecond || d > time.Second {
			return fmt.Errorf("got %q; allowed: a duration from 10ms to 1s, such as 100ms", val)
		}
		cs.interval = d
	case "user":
		if ro.Username != "" {
			return fmt.Errorf("the URL names a user already; give it in one place")
		}
		ro.Username = val
	case "password":
		if ro.Password != "" {
			return fmt.Errorf("the URL holds a password already; give it in one place")
		}
		ro.Password = val
	case "tls-ca":
		if ro.TLSConfig == nil {
			return fmt.Errorf("needs a rediss:// URL (TLS); got a plain redis:// address")
		}
		pem, err := os.ReadFile(val)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s holds no PEM certificate", val)
		}
		ro.TLSConfig.RootCAs = pool
	}
	return nil
}

// validPrefix reports whether p can start the shared keys' names.
func validPrefix(p string) bool {
	if len(p) == 0 || len(p) > 64 {
		return false
	}
	for i := range len(p) {
		if p[i] <= ' ' || p[i] >= 0x7f {
			return false
		}
	}
	return true
}
