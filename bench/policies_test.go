package bench

import (
	"strings"
	"testing"

	"github.com/ipn-project/ipn/bench/matrix"
)

func TestMeasurePolicies(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for a few seconds")
	}
	costs, err := matrix.MeasurePolicies(1)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	matrix.WritePolicies(&b, costs)
	for _, c := range costs {
		if c.NsPerMsg <= 0 {
			t.Errorf("%s: %v ns per message", c.Name, c.NsPerMsg)
		}
		if c.Allocs != 0 {
			t.Errorf("%s: %d allocations per message, want 0", c.Name, c.Allocs)
		}
		if !strings.Contains(b.String(), "| "+c.Name+" |") {
			t.Errorf("table lacks %s:\n%s", c.Name, b.String())
		}
	}
	t.Logf("\n%s", b.String())
}
