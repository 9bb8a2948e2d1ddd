package bench

import (
	"testing"

	"github.com/ipn-project/ipn/bench/matrix"
)

// TestPairs runs a few frames through each kind of pair: every receiver
// must get exactly its own.
func TestPairs(t *testing.T) {
	for _, kind := range matrix.PairKinds {
		res, err := matrix.RunPairs(kind, 2, 2000)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if len(res.PerRcv) != 2 {
			t.Fatalf("%s: %d receiver reports, want 2", kind, len(res.PerRcv))
		}
		for _, v := range res.PerRcv {
			if v <= 0 {
				t.Errorf("%s: rate %v", kind, v)
			}
		}
	}
}
