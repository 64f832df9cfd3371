package veil

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/coredns/caddy"

	"github.com/redis/go-redis/v9"
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
	ro, err := parseRedisAddress(args[0])
	if err != nil {
		return nil, c.Errf("limit: cluster: %v; allowed: %s", err, clusterSyntax)
	}
	cs := &clusterSettings{redis: ro, prefix: defaultClusterPrefix, interval: defaultSyncInterval}
	seen := map[string]bool{}
	for i := 1; i < len(args); i += 2 {
		key, val := args[i], args[i+1]
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
	default:
		return fmt.Errorf("unknown keyword; allowed: %s", allowedClusterOptions)
	}
	return nil
}

// parseRedisAddress parses a redis:// or rediss:// URL (without query
// parameters: veil sets the timeouts) or a plain HOST:PORT. Its errors show
// the URL without its password.
func parseRedisAddress(s string) (*redis.Options, error) {
	shown := s
	if u, err := url.Parse(s); err == nil {
		shown = u.Redacted()
	} else if i := strings.LastIndex(s, "@"); i >= 0 {
		shown = "..." + s[i:]
	}
	if !strings.Contains(s, "://") {
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("%q is neither a redis:// or rediss:// URL nor HOST:PORT", shown)
		}
		return &redis.Options{Addr: s}, nil
	}
	if !strings.HasPrefix(s, "redis://") && !strings.HasPrefix(s, "rediss://") {
		return nil, fmt.Errorf("%q: the scheme must be redis:// or rediss:// (TLS)", shown)
	}
	if strings.Contains(s, "?") {
		return nil, fmt.Errorf("%q: query parameters are not allowed; veil sets the timeouts", shown)
	}
	ro, err := redis.ParseURL(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", shown, err)
	}
	if ro.TLSConfig != nil {
		ro.TLSConfig.MinVersion = tls.VersionTLS12
	}
	return ro, nil
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
