package cluster

import (
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Settings are a cluster option's: where the Redis is, as whom, and how
// the replicas share it.
type Settings struct {
	Redis *redis.Options
	// Prefix starts the names of the keys the replicas share.
	Prefix string
	// Interval is how often a replica sends its counts and reads the
	// others'.
	Interval time.Duration
}

// The option's defaults and its keywords.
const (
	DefaultPrefix   = "veil:"
	DefaultInterval = 100 * time.Millisecond
	// Syntax is the option, for error messages.
	Syntax = "cluster redis://HOST:PORT|rediss://HOST:PORT|HOST:PORT [prefix PREFIX] [interval DURATION] [tls-ca FILE] [user NAME] [password SECRET]"
)

// keywords are the option's keywords, each followed by a value.
var keywords = []string{"prefix", "interval", "tls-ca", "user", "password"}

// ParseSettings parses the option's arguments: an address (ParseAddress),
// then keyword-value pairs, each keyword at most once; a user or password
// both in the URL and as a keyword, or tls-ca without rediss://, is an
// error. No error quotes an argument that may hold the password: not the
// address, not a value, not an argument in a keyword's place.
func ParseSettings(args []string) (Settings, error) {
	if len(args) == 0 || len(args)%2 != 1 {
		return Settings{}, fmt.Errorf("got %d arguments, want an address and keyword-value pairs (a {$ENV} placeholder of an unset variable drops its argument)", len(args))
	}
	ro, err := ParseAddress(args[0])
	if err != nil {
		return Settings{}, err
	}
	s := Settings{Redis: ro, Prefix: DefaultPrefix, Interval: DefaultInterval}
	seen := map[string]bool{}
	for i := 1; i < len(args); i += 2 {
		key, val := args[i], args[i+1]
		if !slices.Contains(keywords, key) {
			return Settings{}, fmt.Errorf("argument %d is not a keyword; allowed: prefix, interval, tls-ca, user, password", i+1)
		}
		if seen[key] {
			return Settings{}, fmt.Errorf("%q given twice; give it once", key)
		}
		seen[key] = true
		if err := s.set(key, val); err != nil {
			return Settings{}, fmt.Errorf("%s: %w", key, err)
		}
	}
	return s, nil
}

// set sets one keyword.
func (s *Settings) set(key, val string) error {
	ro := s.Redis
	switch key {
	case "prefix":
		if !validPrefix(val) {
			return fmt.Errorf("got %q; allowed: 1 to 64 printable ASCII characters without spaces (default veil:)", val)
		}
		s.Prefix = val
	case "interval":
		d, err := time.ParseDuration(val)
		if err != nil || d < 10*time.Millisecond || d > time.Second {
			return fmt.Errorf("got %q; allowed: a duration from 10ms to 1s, such as 100ms", val)
		}
		s.Interval = d
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
