package veil

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/veildns/veil/cluster"
)

// The cluster option's metrics, labelled by the server block's first
// listener (a veil with cluster has one Syncer).
var (
	clusterConnected = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "cluster_connected",
		Help: "Whether the last round trip to the cluster's Redis succeeded (1) or not (0): at 0 the replica limits alone.",
	}, []string{"server"})
	clusterSync = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "cluster_sync_duration_seconds",
		Help:    "Duration of the successful round trips to the cluster's Redis, one per sync interval.",
		Buckets: prometheus.ExponentialBuckets(0.00025, 2, 13), // 0.25 ms to 1 s, the round trip's timeout
	}, []string{"server"})
	clusterErrors = newCounterVec("cluster_sync_errors_total",
		"Counter of round trips to the cluster's Redis that failed.", "server")
	clusterSent = newCounterVec("cluster_events_sent_total",
		"Counter of records sent to the other replicas, by kind: denials, answers (counts per client) or block.", "server", "kind")
	clusterReceived = newCounterVec("cluster_events_received_total",
		"Counter of records from other replicas applied, by kind: denials, answers (counts per client) or block.", "server", "kind")
	clusterRejected = newCounterVec("cluster_events_rejected_total",
		"Counter of records or payloads read from Redis and rejected, by reason.", "server", "reason")
	clusterBatchesDropped = newCounterVec("cluster_batches_dropped_total",
		"Counter of batches dropped unsent, oldest first, while Redis was unreachable.", "server")
	clusterCountsDropped = newCounterVec("cluster_counts_dropped_total",
		"Counter of charges and blocks not shared because the local tally or trip queue was full.", "server")
	clusterBlocks = newCounterVec("cluster_blocks_installed_total",
		"Counter of blocks learned from other replicas and installed in this replica's table.", "server", "zone")
)

// newClusterMetrics returns the series of one Syncer, every one created at
// 0 so a dashboard shows them before the first event.
func newClusterMetrics(server string) cluster.Metrics {
	m := cluster.Metrics{
		Connected:      clusterConnected.WithLabelValues(server),
		RoundTrip:      clusterSync.WithLabelValues(server),
		Errors:         clusterErrors.WithLabelValues(server),
		BatchesDropped: clusterBatchesDropped.WithLabelValues(server),
		Dropped:        clusterCountsDropped.WithLabelValues(server),
	}
	for k := cluster.KindDenials; int(k) < cluster.NumKinds; k++ {
		m.Sent[k] = clusterSent.WithLabelValues(server, k.String())
		m.Received[k] = clusterReceived.WithLabelValues(server, k.String())
	}
	for _, r := range cluster.Reasons() {
		m.Rejected[r] = clusterRejected.WithLabelValues(server, r.String())
	}
	return m
}
