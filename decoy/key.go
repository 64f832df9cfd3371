package decoy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"strings"
)

// KeySize is the size of a Key in bytes.
const KeySize = 32

// Key is the secret that makes decoys a function of the name alone: whoever
// holds it can tell decoys from hosts, so it stays on the servers.
type Key [KeySize]byte

// NewKey returns a random key.
func NewKey() Key {
	var k Key
	if _, err := rand.Read(k[:]); err != nil {
		panic("decoy: no randomness: " + err.Error()) // crypto/rand does not fail on Linux
	}
	return k
}

// KeyFromSecret derives a key from an operator's secret, so that every
// replica given the same secret makes the same decoys.
func KeyFromSecret(secret string) Key {
	return sha256.Sum256([]byte("veil decoy key\x00" + secret))
}

// prf is the keyed hash the decoys are drawn from: HMAC-SHA-256 of a
// purpose and a lower-case name. It is used only for flagged clients'
// misses and at profile build, never on the path of other queries.
type prf struct {
	mac hash.Hash
	sum [sha256.Size]byte
}

func newPRF(k Key) *prf { return &prf{mac: hmac.New(sha256.New, k[:])} }

// draw returns 32 pseudo-random bytes for purpose, name and index.
func (p *prf) draw(purpose byte, name string, index uint32) *[sha256.Size]byte {
	p.mac.Reset()
	var head [5]byte
	head[0] = purpose
	binary.BigEndian.PutUint32(head[1:], index)
	p.mac.Write(head[:])
	p.mac.Write([]byte(strings.ToLower(name)))
	p.mac.Sum(p.sum[:0])
	return &p.sum
}

// The purposes of a draw, so that no two uses of the key share an output.
const (
	purposeRing    byte = 1 // a template's place on the ring
	purposeName    byte = 2 // a name's place on the ring
	purposeAddress byte = 3 // the address drawn for a record
)
