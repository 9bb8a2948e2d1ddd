package harness

import (
	"slices"
	"time"
)

// Report is what one child process sends back to the parent, as one JSON
// line on its standard output.
type Report struct {
	Role  Role `json:"role"`
	Index int  `json:"index"`

	// Msgs, Bytes, CRC, OutOfOrder and Corrupt are the child's Tally: for
	// a sender and a ponger only Msgs and Bytes are set.
	Msgs       uint64 `json:"msgs"`
	Bytes      uint64 `json:"bytes"`
	CRC        uint32 `json:"crc"`
	OutOfOrder uint64 `json:"out_of_order"`
	Skipped    uint64 `json:"skipped,omitempty"`
	Backward   uint64 `json:"backward,omitempty"`
	Corrupt    uint64 `json:"corrupt"`

	// Elapsed runs from the parent's start signal to the end of the
	// child's stream (sender: Close returned; receiver: io.EOF).
	Elapsed time.Duration `json:"elapsed_ns"`
	// Sending is a sender's time from the start signal to the return of
	// its last Send, before Close: the offered rate of a lossy run.
	Sending time.Duration `json:"sending_ns,omitempty"`
	// Allocs counts heap allocations in the child during Elapsed.
	Allocs uint64 `json:"allocs"`
	// CPU is the user and system CPU time of the whole child process (all
	// its threads) during Elapsed.
	CPU time.Duration `json:"cpu_ns"`

	// Latency is set by a pinger.
	Latency *Latency `json:"latency,omitempty"`

	// Err is the child's failure, empty on success.
	Err string `json:"err,omitempty"`
}

func (r *Report) addTally(t *Tally) {
	r.Msgs, r.Bytes, r.CRC = t.Msgs, t.Bytes, t.CRC
	r.OutOfOrder, r.Skipped, r.Backward, r.Corrupt = t.OutOfOrder, t.Skipped, t.Backward, t.Corrupt
}

// Latency summarises round-trip times measured by a pinger.
type Latency struct {
	Samples int           `json:"samples"`
	Min     time.Duration `json:"min_ns"`
	P50     time.Duration `json:"p50_ns"`
	P99     time.Duration `json:"p99_ns"`
	P999    time.Duration `json:"p999_ns"`
	Max     time.Duration `json:"max_ns"`
}

// Summarize returns the latency summary of samples, sorting samples in place.
func Summarize(samples []time.Duration) *Latency {
	l := &Latency{Samples: len(samples)}
	if len(samples) == 0 {
		return l
	}
	slices.Sort(samples)
	l.Min, l.Max = samples[0], samples[len(samples)-1]
	l.P50 = Percentile(samples, 50)
	l.P99 = Percentile(samples, 99)
	l.P999 = Percentile(samples, 99.9)
	return l
}

// Percentile returns the nearest-rank q-th percentile (0 < q ≤ 100) of sorted,
// a non-empty ascending slice.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	// Nearest rank: the smallest value with at least q% of samples at or below it.
	rank := int(q/100*float64(len(sorted)) + 0.999999)
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}
