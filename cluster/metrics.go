package cluster

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The exchange's metrics, coredns_veil_cluster_*, labelled by the server
// block's first listener (a veil with the option has one Syncer), and,
// for the blocks installed, the zone. They are registered with the
// default registry, which CoreDNS's prometheus plugin serves.
var (
	connectedVec = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: subsystem, Name: "cluster_connected",
		Help: "Whether the last round trip to the cluster's Redis succeeded (1) or not (0): at 0 the replica limits alone.",
	}, []string{"server"})
	roundTripVec = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: subsystem, Name: "cluster_sync_duration_seconds",
		Help:    "Duration of the successful round trips to the cluster's Redis, one per sync interval.",
		Buckets: prometheus.ExponentialBuckets(0.00025, 2, 13), // 0.25 ms to 1 s, the round trip's timeout
	}, []string{"server"})
	replicasVec = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: subsystem, Name: "cluster_replicas",
		Help: "Replicas sharing the limits through the cluster's Redis, as last counted: each allows a client 1/N of the bursts.",
	}, []string{"server"})
	errorsVec = counterVec("cluster_sync_errors_total",
		"Counter of round trips to the cluster's Redis that failed.", "server")
	sentVec = counterVec("cluster_events_sent_total",
		"Counter of records sent to the other replicas, by kind: denials, answers (counts per client) or block.", "server", "kind")
	receivedVec = counterVec("cluster_events_received_total",
		"Counter of records from other replicas applied, by kind: denials, answers (counts per client) or block.", "server", "kind")
	rejectedVec = counterVec("cluster_events_rejected_total",
		"Counter of records or payloads read from Redis and rejected, by reason.", "server", "reason")
	unknownRulesVec = counterVec("cluster_unknown_rules_total",
		"Counter of blocks from other replicas by a rule this replica does not know (a newer version's), installed all the same.", "server")
	batchesDroppedVec = counterVec("cluster_batches_dropped_total",
		"Counter of batches dropped unsent, oldest first, while Redis was unreachable.", "server")
	droppedVec = counterVec("cluster_counts_dropped_total",
		"Counter of charges and blocks not shared because the local tally or trip queue was full.", "server")
	blocksVec = counterVec("cluster_blocks_installed_total",
		"Counter of blocks learned from other replicas and installed in this replica's table.", "server", "zone")
)

const (
	namespace = "coredns" // CoreDNS's plugin.Namespace
	subsystem = "veil"
)

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return promauto.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}, labels)
}

// metrics are the series of one Syncer. Sent and Received are indexed by
// Kind, Rejected by Reason; index 0 of each is unused.
type metrics struct {
	connected      prometheus.Gauge
	replicas       prometheus.Gauge
	roundTrip      prometheus.Observer
	errors         prometheus.Counter
	sent, received [NumKinds]prometheus.Counter
	rejected       [NumReasons]prometheus.Counter
	unknownRules   prometheus.Counter
	batchesDropped prometheus.Counter
	// dropped counts records that found no room before they were
	// batched: a charge when a zone's tally is full, a block when the
	// trip queue is.
	dropped prometheus.Counter
}

// newMetrics returns the series of a Syncer of server, every one created
// at 0 so a dashboard shows them before the first event.
func newMetrics(server string) metrics {
	m := metrics{
		connected:      connectedVec.WithLabelValues(server),
		replicas:       replicasVec.WithLabelValues(server),
		roundTrip:      roundTripVec.WithLabelValues(server),
		errors:         errorsVec.WithLabelValues(server),
		unknownRules:   unknownRulesVec.WithLabelValues(server),
		batchesDropped: batchesDroppedVec.WithLabelValues(server),
		dropped:        droppedVec.WithLabelValues(server),
	}
	m.replicas.Set(1) // alone until it counts the others
	for k := KindDenials; int(k) < NumKinds; k++ {
		m.sent[k] = sentVec.WithLabelValues(server, k.String())
		m.received[k] = receivedVec.WithLabelValues(server, k.String())
	}
	for _, r := range Reasons() {
		m.rejected[r] = rejectedVec.WithLabelValues(server, r.String())
	}
	return m
}
