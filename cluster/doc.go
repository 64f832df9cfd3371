// Package cluster shares the enumeration limiter's state between veil
// replicas through Redis (or Valkey), so a scanner that spreads its
// guesses over N replicas gets one budget, not N, and a prefix blocked on
// one replica is blocked on all.
//
// The local table (package ratelimit) stays the authority: a query never
// waits for Redis. Each replica counts the charges of each client key in a
// Tally on the query path; a Syncer goroutine sends those counts every
// interval (100 ms by default) as one batch to a Redis Stream, reads the
// other replicas' batches and charges their counts to its own table, as if
// those queries had come to it (ratelimit's ChargeRemote). A trip is
// published in the next batch and in a sorted set of blocks in force,
// scored by their end, which a replica reads when it connects; every
// replica installs it (ratelimit's Install), so a block reaches the others
// within two intervals and a round trip.
//
// A scanner at full speed spends a replica's burst before the first
// interval ends, so the replicas also count each other (replicas.go: each
// marks itself alive in a sorted set once a second) and each allows a
// client 1/N of the bursts (ratelimit's SetShare). The first replica to
// connect stores a random secret (secret.go) that keys every replica's
// decoys alike unless the Corefile gives a key.
//
// When Redis is away each replica limits alone, with the share it last
// counted; batches wait in a bounded queue (the oldest dropped), and the
// Syncer reconnects with a growing backoff. A replica that reconnects, or
// finds that Redis lost its data (the epoch key changed), reads the blocks
// in force and announces its own again.
//
// Everything read from Redis is checked (Decode) and what does not hold
// is counted by Reason and dropped: whoever can write the keys can block
// clients for up to the block time, but never a trusted or exempt one.
package cluster
