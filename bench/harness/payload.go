package harness

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// SeqSize is the length of the sequence number that starts every payload
// (little-endian uint64), and so the smallest payload.
const SeqSize = 8

// poolSpan is how many distinct starting offsets Gen draws payload bodies
// from: neighbouring sequence numbers get different bodies, so a stale or
// torn slot shows up as a content mismatch.
const poolSpan = 1 << 16

// Gen derives message payloads from a seed and a sequence number, so that a
// receiver (or the parent, for the expected CRC) regenerates exactly what the
// sender sent. A payload is the sequence number followed by a window of a
// seeded pseudo-random pool that starts at an offset hashed from seed and
// sequence. Safe for concurrent use: it is read-only after NewGen.
type Gen struct {
	seed uint64
	size int
	pool []byte // poolSpan + size bytes
}

// NewGen returns the generator of size-byte payloads for seed.
// size must be at least SeqSize.
func NewGen(seed uint64, size int) (*Gen, error) {
	if size < SeqSize {
		return nil, fmt.Errorf("bench: payload %d bytes, want at least %d", size, SeqSize)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pool := make([]byte, (poolSpan+size+7)&^7)
	for i := 0; i < len(pool); i += 8 {
		binary.LittleEndian.PutUint64(pool[i:], r.Uint64())
	}
	return &Gen{seed: seed, size: size, pool: pool[:poolSpan+size]}, nil
}

// Size is the payload length in bytes.
func (g *Gen) Size() int { return g.size }

// Fill writes payload seq into p, which must be Size bytes long.
func (g *Gen) Fill(p []byte, seq uint64) {
	binary.LittleEndian.PutUint64(p, seq)
	copy(p[SeqSize:g.size], g.body(seq))
}

// Match reports whether p is exactly the payload its sequence number names.
func (g *Gen) Match(p []byte) bool {
	if len(p) != g.size {
		return false
	}
	return bytes.Equal(p[SeqSize:], g.body(Seq(p)))
}

// body is the part of payload seq after the sequence number.
func (g *Gen) body(seq uint64) []byte {
	off := int(mix64(g.seed^(seq*0x9e3779b97f4a7c15)) % poolSpan)
	return g.pool[off : off+g.size-SeqSize]
}

// Seq returns the sequence number that starts payload p, or 0 if p is too
// short to hold one.
func Seq(p []byte) uint64 {
	if len(p) < SeqSize {
		return 0
	}
	return binary.LittleEndian.Uint64(p)
}

// mix64 is the splitmix64 finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
