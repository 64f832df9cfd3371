// Package harness is the shared test harness of veil's integration and
// end-to-end tests under test/. The tests are split by capability into the
// packages test/transfer (zone transfers, ANY, byte-identical trusted
// responses, bad input, NOTIFY), test/tokens (verification tokens),
// test/enum (the enumeration limiter), test/monitoring (metrics labels,
// views, traces, the Prometheus rules and the Grafana dashboard) and
// test/example (the README's example Corefile); each imports this package.
//
// In-process tests start a real CoreDNS server in the test binary from a
// Corefile (StartServer, after Main in TestMain has registered veil) and
// talk to it over UDP and TCP from different loopback source addresses:
// TrustedIP (127.0.0.1) is the trusted client, ExternalIP (127.0.0.2) an
// external one. The zones the packages share are in testdata/ beside this
// file (ZonesDir).
//
// End-to-end tests (build tag e2e) build ./cmd/coredns (BuildCoreDNS), start
// the binary and other programs as processes that are killed when the test
// ends (StartProcess, StartCoreDNS), run real DNS clients and recon tools
// with bounded time (Run, RunBounded) and read /metrics as text
// (ScrapeText).
package harness
