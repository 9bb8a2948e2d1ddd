package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/transport"
)

// The benchmark table: every transport × receivers × payload.
var (
	benchReceivers = []int{1, 2, 4}
	benchPayloads  = []int{64, 1500, 65536}
)

const (
	// benchRunBytes caps the bytes one fan-out run sends per receiver; a
	// b.N above it is split over several runs (new processes each time).
	benchRunBytes = 256 << 20
	// benchRunMsgs caps the messages (or round trips) of one run.
	benchRunMsgs = 1 << 20
	// benchWarmup is the round trips a pinger makes before it is timed.
	benchWarmup = 200
	// benchTimeout bounds one run.
	benchTimeout = 5 * time.Minute
)

// BenchmarkFanout sends b.N messages from one sender process to each of N
// receiver processes over every transport in Transports. ns/op is per
// message delivered to all receivers; MB/s counts bytes delivered to all
// receivers; msgs/s/rcv is each receiver's own rate (mean over receivers);
// snd-allocs/op and rcv-allocs/op are heap allocations in the children
// (B/op and allocs/op are the parent's, which only waits).
func BenchmarkFanout(b *testing.B) {
	for _, tr := range transport.Transports() {
		for _, n := range benchReceivers {
			for _, payload := range benchPayloads {
				b.Run(fmt.Sprintf("%s/rcv=%d/%dB", tr.Name(), n, payload), func(b *testing.B) {
					if status, reason := harness.NotRunnable(tr, payload, false); status != "" {
						b.Skipf("%s: %s", status, reason)
					}
					benchFanout(b, tr, n, payload)
				})
			}
		}
	}
}

func benchFanout(b *testing.B, tr harness.Transport, n, payload int) {
	b.ReportAllocs()
	b.SetBytes(int64(payload * n))
	b.StopTimer() // RunFanout runs the timer from start signal to last report
	perRun := max(1, min(benchRunMsgs, benchRunBytes/payload))
	var rcvMsgs, sndAllocs, rcvAllocs uint64
	var rcvTime time.Duration
	for left := b.N; left > 0; {
		count := min(left, perRun)
		left -= count
		o := matrix.FanoutOptions{Receivers: n, Payload: payload, Count: count, Seed: 1, Timeout: benchTimeout, Timer: b}
		res, err := matrix.RunFanout(b.Context(), tr, o)
		if err != nil {
			b.Fatal(err)
		}
		if err := res.Check(); err != nil {
			b.Fatal(err)
		}
		sndAllocs += res.Sender.Allocs
		for _, r := range res.Receivers {
			rcvMsgs += r.Msgs
			rcvTime += r.Elapsed
			rcvAllocs += r.Allocs
		}
	}
	if rcvTime > 0 {
		b.ReportMetric(float64(rcvMsgs)/rcvTime.Seconds(), "msgs/s/rcv")
	}
	b.ReportMetric(float64(sndAllocs)/float64(b.N), "snd-allocs/op")
	b.ReportMetric(float64(rcvAllocs)/float64(b.N*n), "rcv-allocs/op")
}

// BenchmarkPingPong times b.N round trips of a 64-byte message between two
// processes over every pair in Pairs (a pair with a PayloadLimiter carries
// less, as its name says). ns/op is the mean round trip; p50-ns, p99-ns and
// p99.9-ns are the pinger's percentiles (the largest over runs when b.N
// needs more than one run).
func BenchmarkPingPong(b *testing.B) {
	for _, p := range transport.Pairs() {
		payload := matrix.PairPayload(p, 64)
		b.Run(fmt.Sprintf("%s/%dB", p.Name(), payload), func(b *testing.B) {
			benchPingPong(b, p, payload)
		})
	}
}

func benchPingPong(b *testing.B, p harness.Pair, payload int) {
	b.ReportAllocs()
	b.StopTimer()
	var worst harness.Latency
	var allocs uint64
	for left := b.N; left > 0; {
		count := min(left, benchRunMsgs)
		left -= count
		o := matrix.PingOptions{Payload: payload, Count: count, Warmup: benchWarmup, Seed: 1, Timeout: benchTimeout, Timer: b}
		res, err := matrix.RunPingPong(b.Context(), p, o)
		if err != nil {
			b.Fatal(err)
		}
		if err := res.Check(); err != nil {
			b.Fatal(err)
		}
		l := res.Pinger.Latency
		worst.P50 = max(worst.P50, l.P50)
		worst.P99 = max(worst.P99, l.P99)
		worst.P999 = max(worst.P999, l.P999)
		allocs += res.Pinger.Allocs + res.Ponger.Allocs
	}
	b.ReportMetric(float64(worst.P50.Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(worst.P99.Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(worst.P999.Nanoseconds()), "p99.9-ns")
	b.ReportMetric(float64(allocs)/float64(b.N), "child-allocs/op")
}
