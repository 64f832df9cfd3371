package harness

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"
)

// SigningKey is a key the dnssec plugin signs a zone with on the fly:
// Base is its files' path without .key and .private (the plugin's "key
// file" argument), DNSKEY its public record, the zone's trust anchor.
type SigningKey struct {
	Base   string
	DNSKEY *dns.DNSKEY
}

// WriteSigningKey makes an ECDSA P-256 key for zone (a KSK, flags 257,
// which the plugin signs everything with) and writes its files into dir.
func WriteSigningKey(t testing.TB, dir, zone string) SigningKey {
	t.Helper()
	k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: dns.Fqdn(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
	priv, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("K%s+%03d+%05d", dns.Fqdn(zone), k.Algorithm, k.KeyTag()))
	WriteFile(t, base+".key", k.String()+"\n")
	WriteFile(t, base+".private", k.PrivateKeyString(priv))
	return SigningKey{Base: base, DNSKEY: k}
}

// TrustAnchor returns a BIND trust-anchors clause for the key, as delv's
// -a and named's configuration take it.
func (k SigningKey) TrustAnchor() string {
	return fmt.Sprintf("trust-anchors {\n\t%q static-key %d %d %d %q;\n};\n", k.DNSKEY.Hdr.Name, k.DNSKEY.Flags, k.DNSKEY.Protocol, k.DNSKEY.Algorithm, k.DNSKEY.PublicKey)
}
