// Package stream makes and checks test streams: each message carries its
// sequence number in its first 8 bytes and bytes from a generator seeded by
// (seed, sequence) after it, so a receiver regenerates what it must see and
// checks content and order, not only counts.
package stream

import "encoding/binary"

// Fill writes message seq of the stream seed into b (at least 8 bytes).
func Fill(b []byte, seed int64, seq uint64) {
	binary.LittleEndian.PutUint64(b, seq)
	x := uint64(seed)*0x9e3779b97f4a7c15 ^ seq*0xbf58476d1ce4e5b9 | 1
	for i := 8; i < len(b); i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
}

// Len varies message lengths between 8 and mtu from the sequence number,
// unless size fixes it.
func Len(size, mtu int, seq uint64) int {
	if size > 0 {
		return size
	}
	return 8 + int((seq*2654435761)%uint64(mtu-7))
}

// Checker verifies the messages of one stream as they arrive. One
// goroutine at a time.
type Checker struct {
	Seed                            int64
	Received, Bad, OutOfOrder, Gaps int
	Bytes                           int64
	Last                            int64
	want                            []byte
}

// NewChecker returns a checker for stream seed with messages up to mtu.
func NewChecker(seed int64, mtu int) *Checker {
	return &Checker{Seed: seed, Last: -1, want: make([]byte, mtu)}
}

// Check records message m.
func (c *Checker) Check(m []byte) {
	c.Received++
	c.Bytes += int64(len(m))
	if len(m) < 8 || len(m) > len(c.want) {
		c.Bad++
		return
	}
	seq := binary.LittleEndian.Uint64(m)
	w := c.want[:len(m)]
	Fill(w, c.Seed, seq)
	if string(w) != string(m) {
		c.Bad++
	}
	switch {
	case int64(seq) <= c.Last:
		c.OutOfOrder++
	case int64(seq) != c.Last+1:
		c.Gaps++
	}
	c.Last = int64(seq)
}

// Result is a checker's summary.
type Result struct {
	Received, Bad, OutOfOrder, Gaps int
	Bytes, Last                     int64
}

// Result returns the summary so far.
func (c *Checker) Result() Result {
	return Result{c.Received, c.Bad, c.OutOfOrder, c.Gaps, c.Bytes, c.Last}
}
