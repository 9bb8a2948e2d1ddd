package harness

import (
	"bytes"
	"testing"
)

func TestGenFillMatch(t *testing.T) {
	for _, size := range []int{SeqSize, 9, 64, 1500, 65536} {
		g, err := NewGen(42, size)
		if err != nil {
			t.Fatalf("NewGen(42, %d): %v", size, err)
		}
		a, b := make([]byte, size), make([]byte, size)
		for seq := range uint64(50) {
			g.Fill(a, seq)
			if got := Seq(a); got != seq {
				t.Fatalf("size %d: Seq(Fill(%d)) = %d, want %d", size, seq, got, seq)
			}
			if !g.Match(a) {
				t.Fatalf("size %d: Match(Fill(%d)) = false, want true", size, seq)
			}
			g.Fill(b, seq+1)
			if size > SeqSize+8 && bytes.Equal(a[SeqSize:], b[SeqSize:]) {
				t.Errorf("size %d: bodies of %d and %d are equal, want different", size, seq, seq+1)
			}
			if size > SeqSize {
				a[size-1] ^= 1
				if g.Match(a) {
					t.Errorf("size %d: Match(corrupted %d) = true, want false", size, seq)
				}
			}
		}
	}
}

func TestGenSeedsDiffer(t *testing.T) {
	g1, _ := NewGen(1, 64)
	g2, _ := NewGen(2, 64)
	a, b := make([]byte, 64), make([]byte, 64)
	g1.Fill(a, 7)
	g2.Fill(b, 7)
	if bytes.Equal(a, b) {
		t.Errorf("seeds 1 and 2 give the same payload 7, want different")
	}
	if g2.Match(a) {
		t.Errorf("gen of seed 2 matches payload of seed 1, want no match")
	}
}

func TestNewGenTooSmall(t *testing.T) {
	if _, err := NewGen(1, SeqSize-1); err == nil {
		t.Errorf("NewGen(1, %d): got nil error, want one", SeqSize-1)
	}
}
