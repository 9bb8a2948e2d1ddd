package matrix

import (
	"time"

	"github.com/ipn-project/ipn/bench/harness"
)

// Matrix is the outcome of RunMatrix: every run's figures, their medians
// over the rounds and the ratios between transports. It marshals to JSON
// as it is (durations in nanoseconds, rates per second).
type Matrix struct {
	Machine  harness.Machine `json:"machine"`
	Settings MatrixSettings  `json:"settings"`
	Fanout   []FanoutCell    `json:"fanout"`
	Lossy    []LossyCell     `json:"lossy,omitempty"`
	PingPong PingTable       `json:"ping_pong"`
	// Wall is the whole matrix's running time; Steal is the share of the
	// machine's CPU time the hypervisor gave to others meanwhile (0 on
	// bare metal or where the kernel does not say).
	Wall  time.Duration `json:"wall_ns"`
	Steal float64       `json:"steal"`
	// Policies is the cost of each dispatch policy per message.
	Policies []PolicyCost `json:"policies,omitempty"`
	// Pairs is unicast between process pairs on one network.
	Pairs *PairsTable `json:"pairs,omitempty"`
	// Plot is the file name of the throughput plot beside the Markdown,
	// linked from it; empty when none was written (see WriteResults).
	Plot string `json:"plot,omitempty"`
}

// MatrixSettings records how a Matrix was run.
type MatrixSettings struct {
	Rounds     int      `json:"rounds"`
	Quick      bool     `json:"quick"`
	Seed       uint64   `json:"seed"`
	Transports []string `json:"transports"`
	Lossy      []string `json:"lossy_transports,omitempty"`
	Pairs      []string `json:"pairs"`
	// Skipped lists the transports and pairs that cannot run on this
	// machine, with the reason; their series say "skipped".
	Skipped     []Skip               `json:"skipped,omitempty"`
	ZMQHWM      []RingSlots          `json:"zmq_hwm,omitempty"`
	PingPayload int                  `json:"ping_payload"`
	PingCount   int                  `json:"ping_count"`
	PingWarmup  int                  `json:"ping_warmup"`
	RingSlots   []RingSlots          `json:"ring_slots"`
	IPNPool     string               `json:"ipn_pool"`
	Fanout      []harness.Comparison `json:"fanout_ratios"`
	Ping        []harness.Comparison `json:"ping_ratios"`
}

// Skip is a transport or pair that did not run, and why.
type Skip struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// RingSlots is how many messages the shared-memory transports buffer for a
// payload size.
type RingSlots struct {
	Payload int `json:"payload"`
	Slots   int `json:"slots"`
}

// FanoutCell is one (receivers, payload) cell of the fan-out matrix.
type FanoutCell struct {
	Receivers int            `json:"receivers"`
	Payload   int            `json:"payload"`
	Messages  int            `json:"messages"` // per run
	Series    []FanoutSeries `json:"transports"`
	// Ratios divide per-receiver msgs/s (above 1: the subject is faster).
	Ratios []harness.Ratio `json:"ratios"`
}

// FanoutSeries is one transport's runs in a cell, one per round.
type FanoutSeries struct {
	Transport string `json:"transport"`
	// Status says why the series has no runs ("skipped", "n/a", "lossy
	// only"), and Reason explains it; both are empty when it ran.
	Status string      `json:"status,omitempty"`
	Reason string      `json:"reason,omitempty"`
	Runs   []FanoutRun `json:"runs"` // Runs[r] is round r
	// Medians and ranges over the rounds.
	MsgsPerSec  harness.Stat `json:"msgs_per_sec_per_receiver"`
	BytesPerSec harness.Stat `json:"bytes_per_sec"`
	SenderCPU   harness.Stat `json:"sender_cpu_ns_per_msg"`
	ReceiverCPU harness.Stat `json:"receiver_cpu_ns_per_msg"`
}

// FanoutRun is the figures of one fan-out run, which passed its Check.
type FanoutRun struct {
	Round int `json:"round"`
	Order int `json:"order"` // 0: ran first in its cell in this round
	// MsgsPerSec is each receiver's messages over its own time, mean over
	// receivers; BytesPerSec is the bytes delivered to all receivers over
	// the slowest receiver's time.
	MsgsPerSec  float64 `json:"msgs_per_sec_per_receiver"`
	BytesPerSec float64 `json:"bytes_per_sec"`
	// SenderCPU and ReceiverCPU are CPU nanoseconds per message: the
	// sender's, and one receiver's (mean over receivers).
	SenderCPU   float64       `json:"sender_cpu_ns_per_msg"`
	ReceiverCPU float64       `json:"receiver_cpu_ns_per_msg"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	// Lost and OutOfOrder sum the messages receivers missed or got out of
	// sequence; a run is only kept when both are zero.
	Lost       uint64 `json:"lost"`
	OutOfOrder uint64 `json:"out_of_order"`
}

// PingTable is the ping-pong part of a Matrix.
type PingTable struct {
	Series []PingSeries `json:"pairs"`
	// Ratios divide latencies (below 1: the subject is faster), one per
	// comparison and percentile.
	Ratios []harness.Ratio `json:"ratios"`
}

// PingSeries is one pair's runs, one per round.
type PingSeries struct {
	Pair    string    `json:"pair"`
	Status  string    `json:"status,omitempty"` // "skipped" when it cannot run here
	Reason  string    `json:"reason,omitempty"`
	Payload int       `json:"payload"` // as the pair carries it
	Runs    []PingRun `json:"runs"`    // Runs[r] is round r
	// Medians and ranges over the rounds, in nanoseconds.
	P50       harness.Stat `json:"p50_ns"`
	P99       harness.Stat `json:"p99_ns"`
	P999      harness.Stat `json:"p999_ns"`
	PingerCPU harness.Stat `json:"pinger_cpu_ns_per_round_trip"`
}

// PingRun is the figures of one ping-pong run, which passed its Check.
type PingRun struct {
	Round     int           `json:"round"`
	Order     int           `json:"order"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	P999      time.Duration `json:"p999_ns"`
	Mean      time.Duration `json:"mean_ns"`
	PingerCPU time.Duration `json:"pinger_cpu_ns_per_round_trip"`
}

func (c *FanoutCell) SeriesOf(name string) *FanoutSeries {
	for i := range c.Series {
		if c.Series[i].Transport == name {
			return &c.Series[i]
		}
	}
	return nil
}

func (t *PingTable) SeriesOf(name string) *PingSeries {
	for i := range t.Series {
		if t.Series[i].Pair == name {
			return &t.Series[i]
		}
	}
	return nil
}

// LossyCell is one (receivers, payload) cell of the lossy matrix.
type LossyCell struct {
	Receivers int           `json:"receivers"`
	Payload   int           `json:"payload"`
	Messages  int           `json:"messages"` // sent per run
	Series    []LossySeries `json:"transports"`
}

// LossySeries is one transport's lossy runs in a cell, one per round.
type LossySeries struct {
	Transport string     `json:"transport"`
	Status    string     `json:"status,omitempty"` // as in FanoutSeries
	Reason    string     `json:"reason,omitempty"`
	Runs      []LossyRun `json:"runs"`
	// Medians and ranges over the rounds.
	Offered   harness.Stat `json:"offered_msgs_per_sec"`
	Delivered harness.Stat `json:"delivered_msgs_per_sec_per_receiver"`
	DropRate  harness.Stat `json:"drop_rate"`
}

// LossyRun is the figures of one lossy run, which passed CheckLossy.
type LossyRun struct {
	Round int `json:"round"`
	Order int `json:"order"`
	// Offered is the messages sent over the sender's time to its last
	// send; Delivered each receiver's messages over its own time, mean
	// over receivers; DropRate the share of messages sent that a receiver
	// did not get, mean over receivers.
	Offered   float64       `json:"offered_msgs_per_sec"`
	Delivered float64       `json:"delivered_msgs_per_sec_per_receiver"`
	DropRate  float64       `json:"drop_rate"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}
