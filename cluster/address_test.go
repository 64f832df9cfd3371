package cluster

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in, addr, user, pass string
		db                   int
		tls                  bool
	}{
		{in: "127.0.0.1:6379", addr: "127.0.0.1:6379"},
		{in: "[::1]:6379", addr: "[::1]:6379"},
		{in: "redis://redis.example:6380/2", addr: "redis.example:6380", db: 2},
		{in: "rediss://veil@redis.example:6379", addr: "redis.example:6379", user: "veil", tls: true},
		{in: "redis://:pw@[2001:db8::6]:6379", addr: "[2001:db8::6]:6379", pass: "pw"},
		// The last @ ends the user information: a password may hold /, #,
		// ?, [, : and @ unescaped, and %XX escapes are decoded.
		{in: "redis://opsuser:S3cr/et#Pa?ss[@@127.0.0.1:6399", addr: "127.0.0.1:6399", user: "opsuser", pass: "S3cr/et#Pa?ss[@"},
		{in: "redis://veil:a:b@127.0.0.1:6399", addr: "127.0.0.1:6399", user: "veil", pass: "a:b"},
		{in: "redis://veil:p%25w%40rd@127.0.0.1:6399", addr: "127.0.0.1:6399", user: "veil", pass: "p%w@rd"},
		{in: "redis://v%C3%A9il:pässwörd@127.0.0.1:6399/0", addr: "127.0.0.1:6399", user: "véil", pass: "pässwörd"},
	} {
		ro, err := ParseAddress(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if ro.Addr != tc.addr || ro.Username != tc.user || ro.Password != tc.pass || ro.DB != tc.db || (ro.TLSConfig != nil) != tc.tls {
			t.Errorf("%s: got addr %q user %q password %q db %d tls %v", tc.in, ro.Addr, ro.Username, ro.Password, ro.DB, ro.TLSConfig != nil)
		}
	}
}

// TestParseAddressNeverShowsSecrets: whatever an address holds, an error
// about it shows no part of it: not the password, not the user, not a host
// or port that a mistyped address may have filled with the password.
func TestParseAddressNeverShowsSecrets(t *testing.T) {
	const secret = "S3cr3tPassw0rd"
	for _, tc := range []struct{ in, want string }{
		{"redis://opsuser:S3cr%zz3tPassw0rd@127.0.0.1:6399", "password holds a % not followed by two hexadecimal digits"},
		{"redis://opsuser:S3cr3tPassw0rd%@127.0.0.1:6399", "password holds a %"},
		{"redis://S3cr%3tPassw0rd:x@127.0.0.1:6399", "user holds a %"},
		{"redis://opsuser:S3cr3tPassw0rd@127.0.0.1:6399?dial_timeout=1s", "query parameters and fragments are not allowed"},
		{"redis://opsuser:S3cr3tPassw0rd@127.0.0.1:6399#S3cr3tPassw0rd", "query parameters and fragments"},
		{"redis://opsuser:S3cr3tPassw0rd@127.0.0.1:6399/S3cr3tPassw0rd", "the database after the host's / must be a number"},
		{"redis://opsuser:S3cr3tPassw0rd", "the port must be a number"},
		{"redis://opsuser:S3cr3tPassw0rd@", "the address has no port"},
		{"redis://opsuser:S3cr3tPassw0rd@:6379", "the host is empty"},
		{"redis://opsuser:S3cr3tPassw0rd@[127.0.0.1:6379", "must be in brackets"},
		{"redis://opsuser:S3cr3tPassw0rd@2001:db8::6:6379", "must be in brackets"},
		{"redis://opsuser:S3cr3tPassw0rd@rédis.example:6379", "non-ASCII"},
		{"redis://opsuser:S3cr3tPassw0rd@redis example:6379", "a space"},
		{"redis://opsuser:@127.0.0.1:6379", "the password after the user's : is empty"},
		{"opsuser:S3cr3tPassw0rd@127.0.0.1:6379", "a HOST:PORT address holds no user or password"},
		{"opsuser:S3cr3tPassw0rd", "the port must be a number"},
		{"S3cr3tPassw0rd", "the address has no port"},
		{"http://opsuser:S3cr3tPassw0rd@127.0.0.1:6379", "the scheme must be redis:// or rediss://"},
		{"S3cr3tPassw0rd://x@127.0.0.1:6379", "the scheme must be"},
		{"redis://opsuser:S3cr3tPassw0rd@127.0.0.1:99999", "the port must be a number from 1 to 65535"},
		{"redis://opsuser:S3cr3tPassw0rd@127.0.0.1:0", "the port must be"},
	} {
		_, err := ParseAddress(tc.in)
		if err == nil {
			t.Errorf("%s: no error", tc.in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q, want it to say %q", tc.in, msg, tc.want)
		}
		for _, part := range []string{secret, "S3cr", "Passw0rd", "3tPa", "opsuser", "127.0.0.1", "6399", "rédis"} {
			if strings.Contains(msg, part) {
				t.Errorf("%s: error %q shows %q, a part of the address", tc.in, msg, part)
			}
		}
	}
}
