package harness

import "testing"

func TestTally(t *testing.T) {
	const size = 64
	gen, _ := NewGen(9, size)
	msg := func(seq uint64) []byte {
		p := make([]byte, size)
		gen.Fill(p, seq)
		return p
	}
	corrupt := msg(2)
	corrupt[size-1] ^= 0x80
	tests := []struct {
		name           string
		msgs           [][]byte
		wantOutOfOrder uint64
		wantCorrupt    uint64
		wantCRC        bool // CRC equals the expected one for len(msgs) messages
	}{
		{"in order", [][]byte{msg(0), msg(1), msg(2), msg(3)}, 0, 0, true},
		{"swapped", [][]byte{msg(0), msg(2), msg(1), msg(3)}, 3, 0, false},
		{"lost", [][]byte{msg(0), msg(1), msg(3)}, 1, 0, false},
		{"duplicate", [][]byte{msg(0), msg(1), msg(1), msg(2)}, 1, 0, false},
		{"corrupt", [][]byte{msg(0), msg(1), corrupt, msg(3)}, 0, 1, false},
		{"short", [][]byte{msg(0), {1, 2}}, 0, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tally := NewTally(gen)
			for _, p := range tt.msgs {
				tally.Add(p)
			}
			if got, want := tally.Msgs, uint64(len(tt.msgs)); got != want {
				t.Errorf("Msgs = %d, want %d", got, want)
			}
			if tally.OutOfOrder != tt.wantOutOfOrder {
				t.Errorf("OutOfOrder = %d, want %d", tally.OutOfOrder, tt.wantOutOfOrder)
			}
			if tally.Corrupt != tt.wantCorrupt {
				t.Errorf("Corrupt = %d, want %d", tally.Corrupt, tt.wantCorrupt)
			}
			want := ExpectedCRC(gen, len(tt.msgs))
			if got := tally.CRC == want; got != tt.wantCRC {
				t.Errorf("CRC %#08x == expected %#08x is %v, want %v", tally.CRC, want, got, tt.wantCRC)
			}
		})
	}
}
