package test

import "strings"

// tsigKeyName and tsigSecret are the TSIG key the guarded server knows.
const (
	tsigKeyName = "xfr-key."
	tsigSecret  = "3Grc8gNQ8IrK8V8bbFyXrVTHp2E5m7pNC6WmjnEk9no="
)

var tsigSecrets = map[string]string{tsigKeyName: tsigSecret}

// baseCorefile serves example.org and the signed zone signed.test with every
// plugin that could leak zone data open to everyone (transfer to *), so the
// veil line is the only protection. {veil} is replaced by a veil block or
// by nothing, giving the same server with and without veil.
const baseCorefile = `example.org:{port} signed.test:{port} {
	bind 127.0.0.1
	prometheus 127.0.0.1:0
	{veil}
	any
	cache
	tsig {
		secret ` + tsigKeyName + ` ` + tsigSecret + `
	}
	transfer {
		to *
	}
	file {zones}/db.example.org example.org
	file {zones}/signed.test.zone signed.test
}`

// defaultVeil trusts only 127.0.0.1; 127.0.0.2 is external.
const defaultVeil = `veil {
		trusted 127.0.0.1/32 ::1
	}`

// corefile returns baseCorefile with the given veil block ("" for none).
func corefile(veilBlock string) string {
	return strings.Replace(baseCorefile, "{veil}", veilBlock, 1)
}
