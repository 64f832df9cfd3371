package cluster

import (
	crand "crypto/rand"
	"encoding/hex"
)

// The replicas' shared secret: the first replica to connect draws it and
// sets it in Redis (SET NX, in connect), every replica reads it. veil
// makes its decoys under it, so every replica makes the same ones. Redis
// losing its data (a new epoch) draws a new one.

// SecretSize is the size of the secret the replicas share.
const SecretSize = 32

// Secret returns the secret the replicas share through Redis (the first
// replica to connect draws it), or false before this replica has read it.
// veil makes its decoys under it, so every replica makes the same ones.
func (s *Syncer) Secret() ([SecretSize]byte, bool) {
	if p := s.secret.Load(); p != nil {
		return *p, true
	}
	return [SecretSize]byte{}, false
}

// newSecret returns a random shared secret, hex-encoded.
func newSecret() string {
	var b [SecretSize]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// learnSecret keeps the shared secret read from Redis, if it is one.
func (s *Syncer) learnSecret(v string) {
	var b [SecretSize]byte
	if n, err := hex.Decode(b[:], []byte(v)); err != nil || n != SecretSize || len(v) != 2*SecretSize {
		s.m.rejected[ReasonMalformed].Inc()
		return
	}
	s.secret.Store(&b)
}
