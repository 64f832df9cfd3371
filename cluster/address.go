package cluster

import (
	"crypto/tls"
	"errors"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ParseAddress parses where the replicas' Redis is:
//
//	redis://[USER[:PASSWORD]@]HOST:PORT[/DB]
//	rediss://[USER[:PASSWORD]@]HOST:PORT[/DB]   (TLS)
//	HOST:PORT
//
// The user and password may hold any character, percent-encoded or not
// (the last @ ends them); a % must start a %XX escape. A query or
// fragment is an error: veil sets the timeouts itself.
//
// Its errors never quote the address, nor any part of it: an address may
// hold a password, and one mistyped (a missing @, an unescaped %) puts the
// password where a host or port was expected. They say what is wrong and
// where; the caller adds the Corefile line.
func ParseAddress(s string) (*redis.Options, error) {
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		if strings.Contains(s, "@") {
			return nil, errors.New("a HOST:PORT address holds no user or password; write redis://USER:PASSWORD@HOST:PORT, or use the user and password keywords")
		}
		host, port, err := splitHostPort(s)
		if err != nil {
			return nil, err
		}
		return &redis.Options{Network: "tcp", Addr: joinHostPort(host, port)}, nil
	}
	if scheme != "redis" && scheme != "rediss" {
		return nil, errors.New("the scheme must be redis:// or rediss:// (TLS)")
	}
	ro := &redis.Options{Network: "tcp"}
	hostPart := rest
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if err := setUserInfo(ro, rest[:at]); err != nil {
			return nil, err
		}
		hostPart = rest[at+1:]
	}
	if strings.ContainsAny(hostPart, "?#") {
		return nil, errors.New("query parameters and fragments are not allowed after the host (veil sets the timeouts); percent-encode a ? or # in the password as %3F or %23")
	}
	hostPort, db, hasDB := strings.Cut(hostPart, "/")
	if hasDB {
		n, err := strconv.ParseUint(db, 10, 31)
		if err != nil {
			return nil, errors.New("the database after the host's / must be a number, such as /0")
		}
		ro.DB = int(n)
	}
	host, port, err := splitHostPort(hostPort)
	if err != nil {
		return nil, err
	}
	ro.Addr = joinHostPort(host, port)
	if scheme == "rediss" {
		ro.TLSConfig = &tls.Config{ServerName: strings.Trim(host, "[]"), MinVersion: tls.VersionTLS12}
	}
	return ro, nil
}

// setUserInfo sets the user and password from the part of a URL before
// its last @: USER, USER:PASSWORD or :PASSWORD, percent-decoded.
func setUserInfo(ro *redis.Options, info string) error {
	user, password, hasPassword := strings.Cut(info, ":")
	var ok bool
	if ro.Username, ok = unescape(user); !ok {
		return errors.New("the user holds a % not followed by two hexadecimal digits; write a % as %25")
	}
	if ro.Password, ok = unescape(password); !ok {
		return errors.New("the password holds a % not followed by two hexadecimal digits; write a % as %25")
	}
	if hasPassword && ro.Password == "" {
		return errors.New("the password after the user's : is empty; leave out the : for no password")
	}
	return nil
}

// unescape decodes %XX escapes. It reports false, and says nothing of s,
// for a % that does not start one.
func unescape(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// splitHostPort splits HOST:PORT or [IPV6]:PORT. The host must be
// printable ASCII without spaces (an IDN in its xn-- form), the port a
// number from 1 to 65535.
func splitHostPort(s string) (host, port string, err error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", "", errors.New("the address has no port; write HOST:PORT, such as redis.example.net:6379")
	}
	host, port = s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") != strings.HasSuffix(host, "]") {
		return "", "", errors.New("an IPv6 host must be in brackets, such as [2001:db8::6]:6379")
	}
	bare := strings.Trim(host, "[]")
	if bare == "" {
		return "", "", errors.New("the host is empty; write HOST:PORT, such as redis.example.net:6379")
	}
	for j := range len(bare) {
		if c := bare[j]; c <= ' ' || c >= 0x7f || strings.IndexByte("@/?#%[]", c) >= 0 {
			return "", "", errors.New("the host holds a character a host name or IP address cannot (non-ASCII, a space, or one of @/?#%[]); an IDN must be in its xn-- form")
		}
	}
	if !strings.HasPrefix(host, "[") && strings.Contains(bare, ":") {
		return "", "", errors.New("an IPv6 host must be in brackets, such as [2001:db8::6]:6379")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", "", errors.New("the port must be a number from 1 to 65535")
	}
	return host, port, nil
}

// joinHostPort is net.JoinHostPort for a host that may already carry its
// IPv6 brackets.
func joinHostPort(host, port string) string { return host + ":" + port }
