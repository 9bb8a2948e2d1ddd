package harness

import "hash/crc32"

// castagnoli is the CRC-32C table every receiver folds payloads into.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Tally accounts for the messages one receiver got: how many, how many bytes,
// the CRC-32C of all payloads in arrival order (one running value), how many
// arrived out of sequence and, when it verifies content, how many differ
// from what the sender generated. Every transport's receiver reads every
// byte through Add, so zero-copy is never mistaken for not reading.
// Skipped and Backward tell loss from disorder, for transports that may
// drop: a gap in the sequence counts the messages missing in it, a sequence
// number not above the previous one is a message reordered or duplicated.
// One goroutine at a time.
type Tally struct {
	Msgs       uint64
	Bytes      uint64
	CRC        uint32
	OutOfOrder uint64 // messages whose sequence number is not the previous one's + 1
	Skipped    uint64 // messages missing in gaps of the sequence (lost, or not yet seen)
	Backward   uint64 // messages whose sequence number is not above the previous one's
	Corrupt    uint64 // messages too short or, when verifying, not what the sender sent

	next   uint64
	verify *Gen
}

// NewTally returns an empty tally. With a non-nil gen it also compares every
// payload byte for byte with the regenerated one.
func NewTally(verify *Gen) *Tally { return &Tally{verify: verify} }

// Add accounts for one message.
func (t *Tally) Add(p []byte) {
	t.Msgs++
	t.Bytes += uint64(len(p))
	t.CRC = crc32.Update(t.CRC, castagnoli, p)
	if len(p) < SeqSize {
		t.Corrupt++
		return
	}
	seq := Seq(p)
	if seq != t.next {
		t.OutOfOrder++
		if seq > t.next {
			t.Skipped += seq - t.next
		} else {
			t.Backward++
		}
	}
	t.next = seq + 1
	if t.verify != nil && !t.verify.Match(p) {
		t.Corrupt++
	}
}

// ExpectedCRC is the running CRC-32C a receiver must report after getting
// messages 0 … count-1 of gen in order.
func ExpectedCRC(gen *Gen, count int) uint32 {
	buf := make([]byte, gen.Size())
	var crc uint32
	for seq := range uint64(count) {
		gen.Fill(buf, seq)
		crc = crc32.Update(crc, castagnoli, buf)
	}
	return crc
}
