// Package monitoring holds veil's tests of what it reports: the view and
// server labels of its metrics, series that exist from start-up, trace
// spans through veil, and (build tag e2e) the Prometheus rules and the
// Grafana dashboard against the metrics of the built binary, checked with
// promtool and a real Prometheus.
package monitoring

import (
	"testing"

	"github.com/veildns/veil/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
