package harness

import "strings"

// TSIGKeyName and TSIGSecret are the TSIG key the server of BaseCorefile
// knows.
const (
	TSIGKeyName = "xfr-key."
	TSIGSecret  = "3Grc8gNQ8IrK8V8bbFyXrVTHp2E5m7pNC6WmjnEk9no="
)

// TSIGSecrets maps TSIGKeyName to TSIGSecret, as dns.Client and
// dns.Transfer take them.
var TSIGSecrets = map[string]string{TSIGKeyName: TSIGSecret}

// BaseCorefile serves example.org and the signed zone signed.test with every
// plugin that could leak zone data open to everyone (transfer to *), so the
// veil line is the only protection. {veil} is replaced by a veil block or
// by nothing, giving the same server with and without veil.
const BaseCorefile = `example.org:{port} signed.test:{port} {
	bind 127.0.0.1
	prometheus 127.0.0.1:0
	{veil}
	any
	cache
	tsig {
		secret ` + TSIGKeyName + ` ` + TSIGSecret + `
	}
	transfer {
		to *
	}
	file {zones}/db.example.org example.org
	file {zones}/signed.test.zone signed.test
}`

// DefaultVeil trusts only 127.0.0.1; 127.0.0.2 is external.
const DefaultVeil = `veil {
		trusted 127.0.0.1/32 ::1
	}`

// LimitVeil is veil with respond block and its defaults (rate 15/s,
// burst 100, stub 1/s burst 4, block 120s): a flagged prefix is blocked
// rather than given decoys; with the ratio rule on (0.8 of at
// least 20 responses in 30s) and slip 2 (the default, 1, slips every
// blocked query; the slip tests need both fates). The tests of the denial
// rules drive it with resolver-like queries (ResolverQuery), which only
// those rules judge.
const LimitVeil = `veil {
		trusted 127.0.0.1
		limit {
			respond block
			ratio 0.8 20 30s
			slip 2
		}
	}`

// Corefile returns BaseCorefile with the given veil block ("" for none).
func Corefile(veilBlock string) string {
	return strings.Replace(BaseCorefile, "{veil}", veilBlock, 1)
}
