package bench

import (
	"context"
	"testing"

	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/transport"
)

// TestPingPong checks every pair end to end with real processes: every
// echo comes back in order and intact, and every round trip is timed.
func TestPingPong(t *testing.T) {
	checkLeaks(t)
	for _, p := range transport.Pairs() {
		t.Run(p.Name(), func(t *testing.T) {
			o := matrix.PingOptions{Payload: 64, Count: 500, Warmup: 20, Seed: 11, Timeout: testTimeout}
			res, err := matrix.RunPingPong(context.Background(), p, o)
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Check(); err != nil {
				t.Error(err)
			}
			if got, want := res.Options.Payload, matrix.PairPayload(p, 64); got != want {
				t.Errorf("payload %d, want %d", got, want)
			}
			l := res.Pinger.Latency
			if l.Min <= 0 || l.Min > l.P50 || l.P50 > l.P99 || l.P99 > l.P999 || l.P999 > l.Max {
				t.Errorf("latency %+v, want 0 < min ≤ p50 ≤ p99 ≤ p99.9 ≤ max", *l)
			}
		})
	}
}
