package veil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clusterBlock wraps a cluster line in a veil block's limit block.
func clusterBlock(line string) string {
	return "veil {\n trusted 192.0.2.0/24\n limit {\n exempt 198.51.100.7\n " + line + "\n }\n}"
}

func TestParseCluster(t *testing.T) {
	ca := writeTestCA(t)
	tests := []struct {
		line             string
		addr, user, pass string
		prefix           string
		interval         time.Duration
		tls, customCA    bool
		db               int
	}{
		{line: "cluster 127.0.0.1:6379", addr: "127.0.0.1:6379", prefix: "veil:", interval: 100 * time.Millisecond},
		{line: "cluster redis://redis.example:6380/2", addr: "redis.example:6380", prefix: "veil:", interval: 100 * time.Millisecond, db: 2},
		{line: "cluster redis://veil:s3cret@[::1]:6379 prefix {veil}:prod: interval 250ms", addr: "[::1]:6379",
			user: "veil", pass: "s3cret", prefix: "{veil}:prod:", interval: 250 * time.Millisecond},
		{line: "cluster rediss://redis.example:6379 tls-ca " + ca + " user veil password pw", addr: "redis.example:6379",
			user: "veil", pass: "pw", prefix: "veil:", interval: 100 * time.Millisecond, tls: true, customCA: true},
		{line: "cluster rediss://redis.example:6379", addr: "redis.example:6379", prefix: "veil:", interval: 100 * time.Millisecond, tls: true},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			v, err := parseExample(clusterBlock(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			cs := v.limit.cluster
			if cs == nil {
				t.Fatal("cluster not set up")
			}
			ro := cs.Redis
			if ro.Addr != tc.addr || ro.Username != tc.user || ro.Password != tc.pass || ro.DB != tc.db ||
				cs.Prefix != tc.prefix || cs.Interval != tc.interval {
				t.Errorf("got addr %q user %q password %q db %d prefix %q interval %v", ro.Addr, ro.Username, ro.Password, ro.DB, cs.Prefix, cs.Interval)
			}
			if (ro.TLSConfig != nil) != tc.tls || (tc.tls && (ro.TLSConfig.RootCAs != nil) != tc.customCA) {
				t.Errorf("TLS config %+v, want TLS %v with own CA %v", ro.TLSConfig, tc.tls, tc.customCA)
			}
			for p, want := range map[string]bool{"192.0.2.0/24": true, "192.0.2.128/25": true, "198.51.100.7/32": true,
				"192.0.0.0/16": false, "198.51.100.0/24": false, "203.0.113.0/24": false} {
				if got := v.clients.covers(netip.MustParsePrefix(p)); got != want {
					t.Errorf("covers(%s) = %v, want %v", p, got, want)
				}
			}
		})
	}
	if v, err := parseExample("veil {\n limit {\n rate 10\n }\n}"); err != nil || v.limit.cluster != nil {
		t.Errorf("without cluster, no cluster state: %v %v", v.limit.cluster, err)
	}
}

func TestParseClusterErrors(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ line, want string }{
		{"cluster", `limit: cluster: got 0 arguments, want an address and keyword-value pairs (a {$ENV} placeholder of an unset variable drops its argument); allowed: cluster redis://HOST:PORT`},
		{"cluster 127.0.0.1:6379 prefix", `limit: cluster: got 2 arguments`},
		{"cluster redis.example", `limit: cluster: the address has no port; write HOST:PORT, such as redis.example.net:6379; allowed: cluster redis://HOST:PORT`},
		{"cluster http://redis.example:6379", `the scheme must be redis:// or rediss:// (TLS)`},
		{"cluster unix:///run/redis.sock", `the scheme must be redis:// or rediss://`},
		{"cluster redis://redis.example:6379?dial_timeout=3s", `query parameters and fragments are not allowed`},
		{"cluster redis://redis.example:6379/x", `the database after the host's / must be a number`},
		{"cluster 127.0.0.1:6379 speed 1", `limit: cluster: argument 2 is not a keyword; allowed: prefix, interval, tls-ca, user, password`},
		{"cluster 127.0.0.1:6379 prefix a prefix b", `limit: cluster: "prefix" given twice; give it once`},
		{"cluster 127.0.0.1:6379 prefix " + strings.Repeat("p", 65), `limit: cluster: prefix: got "ppp`},
		{"cluster 127.0.0.1:6379 interval 5ms", `limit: cluster: interval: got "5ms"; allowed: a duration from 10ms to 1s`},
		{"cluster 127.0.0.1:6379 interval 2s", `interval: got "2s"`},
		{"cluster 127.0.0.1:6379 interval soon", `interval: got "soon"`},
		{"cluster redis://u@127.0.0.1:6379 user v", `limit: cluster: user: the URL names a user already; give it in one place`},
		{"cluster redis://u:p@127.0.0.1:6379 password q", `limit: cluster: password: the URL holds a password already`},
		{"cluster redis://127.0.0.1:6379 tls-ca /etc/ssl/ca.pem", `limit: cluster: tls-ca: needs a rediss:// URL (TLS)`},
		{"cluster rediss://127.0.0.1:6379 tls-ca /nonexistent/ca.pem", `limit: cluster: tls-ca: open /nonexistent/ca.pem`},
		{"cluster rediss://127.0.0.1:6379 tls-ca " + notPEM, `holds no PEM certificate`},
		{"cluster 127.0.0.1:6379\n cluster 127.0.0.1:6380", `limit: option "cluster" given twice; give it once`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			corefile := "veil {\n limit {\n " + tc.line + "\n }\n}"
			line := 3 + strings.Count(tc.line, "\n")
			checkParseError(t, corefile, line, tc.want)
		})
	}
	// A password is never echoed in an error, wherever a mistake puts it
	// (cluster.TestParseAddressNeverShowsSecrets has the address's own
	// cases); the error still names the line.
	for _, line := range []string{
		"cluster redis://127.0.0.1:6379 password hunter2 prefix",
		"cluster redis://127.0.0.1:6379 prefix p hunter2 password",
		"cluster redis://veil:hunter2@127.0.0.1:6379?x=1",
		"cluster redis://veil:hunter2@127.0.0.1:6379/db",
		"cluster redis://veil:hun%zzter2@127.0.0.1:6379",
		"cluster redis://veil:hunter2",
		"cluster redis://veil:hunter2@:6379",
		"cluster redis://veil:hunter2@rédis:6379",
		"cluster http://veil:hunter2@127.0.0.1:6379",
		"cluster redis://veil:hunter2@127.0.0.1:6379 user x",
		"cluster veil:hunter2@127.0.0.1:6379",
	} {
		_, err := parseExample("veil {\n limit {\n " + line + "\n }\n}")
		if err == nil || strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), "ter2") || !strings.Contains(err.Error(), ":3 - ") {
			t.Errorf("%s: error %v shows the password, or no line", line, err)
		}
	}
}

// writeTestCA writes a self-signed CA certificate in PEM and returns its
// path.
func writeTestCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "veil test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
