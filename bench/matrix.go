package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// MatrixOptions describes a whole comparison: every transport over every
// (receivers, payload) cell and every pair in ping-pong, Rounds times. The
// zero value of a field takes the default given beside it; a nil slice
// takes the default list, an empty non-nil slice means none.
type MatrixOptions struct {
	Receivers  []int       // receivers per fan-out; default {1, 2, 4}
	Payloads   []int       // fan-out payload bytes; default {64, 1500, 65536}
	Transports []Transport // default Transports()
	Pairs      []Pair      // default Pairs()
	Rounds     int         // default 5 (Quick: 1)

	// The lossy matrix: the same fan-out over transports that may drop,
	// the sender never waiting. A nil slice takes the default; an empty
	// non-nil one means no lossy matrix.
	LossyTransports []Transport // default LossyTransports()
	LossyReceivers  []int       // default Receivers
	LossyPayloads   []int       // default Payloads
	// LossyMessages gives the messages of one lossy run; the default sends
	// min(50k, 16 MiB ÷ payload) (Quick: min(2000, 4 MiB ÷ payload)).
	LossyMessages func(payload int) int

	// Messages gives the messages of one fan-out run for a payload; the
	// default sends min(200k, 64 MiB ÷ payload) (Quick: min(5000, 16 MiB
	// ÷ payload)).
	Messages func(payload int) int

	PingPayload int // default 64 (a PayloadLimiter pair carries less)
	PingCount   int // measured round trips per run; default 20000 (Quick: 2000)
	PingWarmup  int // round trips before the timed ones; default PingCount/10

	// FanoutRatios and PingRatios name the figures divided pair by pair
	// within each round; a comparison whose transport or pair is not in
	// the matrix is left out. Default: ipn against every baseline
	// (DefaultFanoutRatios, DefaultPingRatios).
	FanoutRatios []Comparison
	PingRatios   []Comparison

	// Quick makes the defaults small: a smoke test of the whole matrix,
	// not figures to quote.
	Quick bool

	Seed    uint64        // payload seed of round 0 (round r uses Seed+r)
	Timeout time.Duration // per run; default 5 minutes
	// Progress, if set, gets one line per run as the matrix goes.
	Progress io.Writer
}

// DefaultFanoutRatios compares ipn with every fan-out baseline, and ipn
// through its public API with a coordinator against the bare data plane.
var DefaultFanoutRatios = []Comparison{{"ipn", "seqpacket"}, {"ipn", "dgram"}, {"ipn", "zmq"}, {"ipn", "shmring"}, {"ipn-api", "ipn"}, {"ipn-api", "seqpacket"}}

// DefaultPingRatios compares ipn with the bare eventfd wake-up and the
// socket baseline, and ipn that always sleeps with the bare eventfd.
var DefaultPingRatios = []Comparison{{"ipn", "eventfd"}, {"ipn", "seqpacket"}, {"ipn-sleep", "eventfd"}}

// Default sizes of a matrix.
const (
	matrixRunBytes      = 64 << 20 // bytes one fan-out run sends, at most
	matrixRunMsgs       = 200_000  // messages one fan-out run sends, at most
	matrixQuickRunBytes = 16 << 20
	matrixQuickRunMsgs  = 5000
	matrixPingCount     = 20_000
	matrixQuickPing     = 2000
	matrixRounds        = 5
	lossyRunBytes       = 16 << 20
	lossyRunMsgs        = 50_000
	lossyQuickRunBytes  = 4 << 20
	lossyQuickRunMsgs   = 2000
	matrixTimeout       = 5 * time.Minute
)

// defaultMessages is the default MatrixOptions.Messages.
func defaultMessages(payload int) int {
	return max(1, min(matrixRunMsgs, matrixRunBytes/max(1, payload)))
}

func quickMessages(payload int) int {
	return max(1, min(matrixQuickRunMsgs, matrixQuickRunBytes/max(1, payload)))
}

func lossyMessages(payload int) int {
	return max(1, min(lossyRunMsgs, lossyRunBytes/max(1, payload)))
}

func lossyQuickMessages(payload int) int {
	return max(1, min(lossyQuickRunMsgs, lossyQuickRunBytes/max(1, payload)))
}

func (o MatrixOptions) withDefaults() MatrixOptions {
	if o.Receivers == nil {
		o.Receivers = []int{1, 2, 4}
	}
	if o.Payloads == nil {
		o.Payloads = []int{64, 1500, 65536}
	}
	if o.Transports == nil {
		o.Transports = Transports()
	}
	if o.Pairs == nil {
		o.Pairs = Pairs()
	}
	if o.LossyTransports == nil {
		o.LossyTransports = LossyTransports()
	}
	if o.LossyReceivers == nil {
		o.LossyReceivers = o.Receivers
	}
	if o.LossyPayloads == nil {
		o.LossyPayloads = o.Payloads
	}
	if o.LossyMessages == nil {
		o.LossyMessages = lossyMessages
		if o.Quick {
			o.LossyMessages = lossyQuickMessages
		}
	}
	if o.Rounds == 0 {
		o.Rounds = matrixRounds
		if o.Quick {
			o.Rounds = 1
		}
	}
	if o.Messages == nil {
		o.Messages = defaultMessages
		if o.Quick {
			o.Messages = quickMessages
		}
	}
	if o.PingPayload == 0 {
		o.PingPayload = 64
	}
	if o.PingCount == 0 {
		o.PingCount = matrixPingCount
		if o.Quick {
			o.PingCount = matrixQuickPing
		}
	}
	if o.PingWarmup == 0 {
		o.PingWarmup = o.PingCount / 10
	}
	if o.FanoutRatios == nil {
		o.FanoutRatios = DefaultFanoutRatios
	}
	if o.PingRatios == nil {
		o.PingRatios = DefaultPingRatios
	}
	if o.Timeout == 0 {
		o.Timeout = matrixTimeout
	}
	return o
}

func (o MatrixOptions) validate() error {
	var errs []error
	if o.Rounds < 1 {
		errs = append(errs, fmt.Errorf("rounds %d, want ≥1", o.Rounds))
	}
	for _, n := range o.Receivers {
		if n < 1 {
			errs = append(errs, fmt.Errorf("receivers %d, want ≥1", n))
		}
	}
	for _, n := range o.LossyReceivers {
		if n < 1 {
			errs = append(errs, fmt.Errorf("lossy receivers %d, want ≥1", n))
		}
	}
	for _, p := range o.LossyPayloads {
		if p < SeqSize || o.LossyMessages(p) < 1 {
			errs = append(errs, fmt.Errorf("lossy payload %d with %d messages, want ≥%d and ≥1", p, o.LossyMessages(p), SeqSize))
		}
	}
	for _, p := range o.Payloads {
		if p < SeqSize {
			errs = append(errs, fmt.Errorf("payload %d, want ≥%d", p, SeqSize))
		} else if c := o.Messages(p); c < 1 {
			errs = append(errs, fmt.Errorf("messages(%d) = %d, want ≥1", p, c))
		}
	}
	if o.PingPayload < SeqSize || o.PingCount < 1 || o.PingWarmup < 0 {
		errs = append(errs, fmt.Errorf("ping payload %d, count %d, warm-up %d: want ≥%d, ≥1, ≥0",
			o.PingPayload, o.PingCount, o.PingWarmup, SeqSize))
	}
	// Ratios and children find transports and pairs by name.
	seen := map[string]bool{}
	for _, t := range o.Transports {
		if seen[t.Name()] {
			errs = append(errs, fmt.Errorf("transport %q listed twice", t.Name()))
		}
		seen[t.Name()] = true
	}
	seen = map[string]bool{}
	for _, t := range o.LossyTransports {
		if seen[t.Name()] {
			errs = append(errs, fmt.Errorf("lossy transport %q listed twice", t.Name()))
		}
		seen[t.Name()] = true
	}
	seen = map[string]bool{}
	for _, p := range o.Pairs {
		if seen[p.Name()] {
			errs = append(errs, fmt.Errorf("pair %q listed twice", p.Name()))
		}
		seen[p.Name()] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: matrix options: %w", err)
	}
	return nil
}

// Matrix is the outcome of RunMatrix: every run's figures, their medians
// over the rounds and the ratios between transports. It marshals to JSON
// as it is (durations in nanoseconds, rates per second).
type Matrix struct {
	Machine  Machine        `json:"machine"`
	Settings MatrixSettings `json:"settings"`
	Fanout   []FanoutCell   `json:"fanout"`
	Lossy    []LossyCell    `json:"lossy,omitempty"`
	PingPong PingTable      `json:"ping_pong"`
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
	Skipped     []Skip       `json:"skipped,omitempty"`
	ZMQHWM      []RingSlots  `json:"zmq_hwm,omitempty"`
	PingPayload int          `json:"ping_payload"`
	PingCount   int          `json:"ping_count"`
	PingWarmup  int          `json:"ping_warmup"`
	RingSlots   []RingSlots  `json:"ring_slots"`
	IPNPool     string       `json:"ipn_pool"`
	Fanout      []Comparison `json:"fanout_ratios"`
	Ping        []Comparison `json:"ping_ratios"`
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
	Ratios []Ratio `json:"ratios"`
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
	MsgsPerSec  Stat `json:"msgs_per_sec_per_receiver"`
	BytesPerSec Stat `json:"bytes_per_sec"`
	SenderCPU   Stat `json:"sender_cpu_ns_per_msg"`
	ReceiverCPU Stat `json:"receiver_cpu_ns_per_msg"`
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
	Ratios []Ratio `json:"ratios"`
}

// PingSeries is one pair's runs, one per round.
type PingSeries struct {
	Pair    string    `json:"pair"`
	Status  string    `json:"status,omitempty"` // "skipped" when it cannot run here
	Reason  string    `json:"reason,omitempty"`
	Payload int       `json:"payload"` // as the pair carries it
	Runs    []PingRun `json:"runs"`    // Runs[r] is round r
	// Medians and ranges over the rounds, in nanoseconds.
	P50       Stat `json:"p50_ns"`
	P99       Stat `json:"p99_ns"`
	P999      Stat `json:"p999_ns"`
	PingerCPU Stat `json:"pinger_cpu_ns_per_round_trip"`
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

// RunMatrix runs the whole comparison with real processes and returns every
// figure. Round by round, each fan-out cell runs every transport once, back
// to back, in an order that rotates by one each round; then every pair
// plays ping-pong, likewise. Before round 0, every cell and the ping-pong
// run each transport or pair once more and discard the figures (warm-up).
// Every run, warm-up included, must pass its Check: a failure is an error,
// never a figure.
func RunMatrix(ctx context.Context, o MatrixOptions) (*Matrix, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	m := newMatrix(o)
	m.reportNotRunnable(o.Progress)
	steal0, stealErr := readCPUStat()
	t0 := time.Now()
	for r := range o.Rounds {
		for ci := range m.Fanout {
			if err := m.fanoutRound(ctx, o, &m.Fanout[ci], r); err != nil {
				return nil, err
			}
		}
		for ci := range m.Lossy {
			if err := m.lossyRound(ctx, o, &m.Lossy[ci], r); err != nil {
				return nil, err
			}
		}
		if err := m.pingRound(ctx, o, r); err != nil {
			return nil, err
		}
	}
	if !o.Quick {
		costs, err := MeasurePolicies(o.Rounds)
		if err != nil {
			return nil, err
		}
		m.Policies = costs
		if m.Pairs, err = MeasurePairs(o.Rounds, 4, 20000); err != nil {
			return nil, err
		}
	}
	m.Wall = time.Since(t0)
	if steal1, err := readCPUStat(); err == nil && stealErr == nil {
		m.Steal = steal1.stealSince(steal0)
	}
	m.summarize()
	return m, nil
}

// newMatrix lays out the cells and series that RunMatrix fills.
func newMatrix(o MatrixOptions) *Matrix {
	m := &Matrix{
		Machine: DescribeMachine(),
		Settings: MatrixSettings{
			Rounds: o.Rounds, Quick: o.Quick, Seed: o.Seed,
			PingPayload: o.PingPayload, PingCount: o.PingCount, PingWarmup: o.PingWarmup,
			Fanout: o.FanoutRatios, Ping: o.PingRatios,
			IPNPool: ipnPoolSetting(o.Transports),
		},
	}
	for _, t := range o.Transports {
		m.Settings.Transports = append(m.Settings.Transports, t.Name())
		m.Settings.addSkip(t)
	}
	for _, t := range o.LossyTransports {
		m.Settings.Lossy = append(m.Settings.Lossy, t.Name())
		m.Settings.addSkip(t)
	}
	for _, p := range o.Pairs {
		m.Settings.Pairs = append(m.Settings.Pairs, p.Name())
		m.Settings.addSkip(p)
	}
	for _, payload := range o.Payloads {
		if l, err := newRingLayout(1, payload); err == nil {
			m.Settings.RingSlots = append(m.Settings.RingSlots, RingSlots{Payload: payload, Slots: int(l.slots)})
		}
		m.Settings.ZMQHWM = append(m.Settings.ZMQHWM, RingSlots{Payload: payload, Slots: zmqHWM(1, payload)})
	}
	for _, n := range o.Receivers {
		for _, payload := range o.Payloads {
			c := FanoutCell{Receivers: n, Payload: payload, Messages: o.Messages(payload)}
			for _, t := range o.Transports {
				s := FanoutSeries{Transport: t.Name()}
				if s.Status, s.Reason = notRunnable(t, payload, false); s.Status == "" {
					s.Runs = make([]FanoutRun, o.Rounds)
				}
				c.Series = append(c.Series, s)
			}
			m.Fanout = append(m.Fanout, c)
		}
	}
	m.Lossy = newLossyCells(o)
	for _, p := range o.Pairs {
		s := PingSeries{Pair: p.Name(), Payload: PairPayload(p, o.PingPayload)}
		if err := availability(p); err != nil {
			s.Status, s.Reason = statusSkipped, err.Error()
		} else {
			s.Runs = make([]PingRun, o.Rounds)
		}
		m.PingPong.Series = append(m.PingPong.Series, s)
	}
	return m
}

// ipnPoolSetting describes the message pool of the IPN transports listed.
func ipnPoolSetting(ts []Transport) string {
	for _, t := range ts {
		if t, ok := t.(IPN); ok {
			if t.Pool == 0 {
				return "as many slots as the bare ring"
			}
			return fmt.Sprintf("%d slots", t.Pool)
		}
	}
	return ""
}

// rotation returns the order in which round r runs n contenders: the
// indices 0…n-1 started at r mod n, so that each runs first in turn.
func rotation(n, r int) []int {
	order := make([]int, n)
	for k := range order {
		order[k] = (k + r) % n
	}
	return order
}

// fanoutRound runs round r of cell c, preceded by the warm-up in round 0.
func (m *Matrix) fanoutRound(ctx context.Context, o MatrixOptions, c *FanoutCell, r int) error {
	fo := FanoutOptions{Receivers: c.Receivers, Payload: c.Payload, Count: c.Messages, Seed: o.Seed + uint64(r), Timeout: o.Timeout}
	skip := func(i int) bool { return c.Series[i].Status != "" }
	return runRotated(len(o.Transports), r, skip, func(i, order int, what string) error {
		t := o.Transports[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := RunFanout(ctx, t, fo)
		if err != nil {
			return err
		}
		fr, err := fanoutRunOf(res)
		if err != nil {
			return fmt.Errorf("bench: matrix %s: %s fan-out to %d, %d B × %d: %w", what, t.Name(), c.Receivers, c.Payload, c.Messages, err)
		}
		progress(o.Progress, "%-9s fan-out rcv=%d %6d B  %-16s %s msgs/s/rcv  %s",
			what, c.Receivers, c.Payload, t.Name(), fmtRate(fr.MsgsPerSec), fmtBytesRate(fr.BytesPerSec))
		if order >= 0 {
			fr.Round, fr.Order = r, order
			c.Series[i].Runs[r] = fr
		}
		return nil
	})
}

// runRotated runs the n contenders of round r (but those skip names) in
// the order rotation gives, each through run with its place in that order;
// round 0 starts with a warm-up pass whose place is -1 (figures discarded).
func runRotated(n, r int, skip func(i int) bool, run func(i, order int, what string) error) error {
	if r == 0 {
		for _, i := range rotation(n, r) {
			if skip(i) {
				continue
			}
			if err := run(i, -1, "warm-up"); err != nil {
				return err
			}
		}
	}
	for k, i := range rotation(n, r) {
		if skip(i) {
			continue
		}
		if err := run(i, k, fmt.Sprintf("round %d", r+1)); err != nil {
			return err
		}
	}
	return nil
}

// fanoutRunOf turns a result into figures, if and only if it passes Check.
func fanoutRunOf(res *FanoutResult) (FanoutRun, error) {
	if err := res.Check(); err != nil {
		return FanoutRun{}, fmt.Errorf("check failed: %w", err)
	}
	msgs := float64(max(1, res.Options.Count))
	fr := FanoutRun{
		Lost:       res.lost(),
		OutOfOrder: res.outOfOrder(),
		MsgsPerSec: res.MsgsPerSecPerReceiver(),
		SenderCPU:  float64(res.Sender.CPU.Nanoseconds()) / msgs,
		Elapsed:    res.Elapsed,
	}
	var bytes uint64
	var slowest, cpu time.Duration
	for _, rep := range res.Receivers {
		bytes += rep.Bytes
		slowest = max(slowest, rep.Elapsed)
		cpu += rep.CPU
	}
	if slowest > 0 {
		fr.BytesPerSec = float64(bytes) / slowest.Seconds()
	}
	if n := len(res.Receivers); n > 0 {
		fr.ReceiverCPU = float64(cpu.Nanoseconds()) / float64(n) / msgs
	}
	return fr, nil
}

// pingRound runs round r of the ping-pong, preceded by the warm-up in round 0.
func (m *Matrix) pingRound(ctx context.Context, o MatrixOptions, r int) error {
	po := PingOptions{Payload: o.PingPayload, Count: o.PingCount, Warmup: o.PingWarmup, Seed: o.Seed + uint64(r), Timeout: o.Timeout}
	skip := func(i int) bool { return m.PingPong.Series[i].Status != "" }
	return runRotated(len(o.Pairs), r, skip, func(i, order int, what string) error {
		p := o.Pairs[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := RunPingPong(ctx, p, po)
		if err != nil {
			return err
		}
		pr, err := pingRunOf(res)
		if err != nil {
			return fmt.Errorf("bench: matrix %s: %s ping-pong, %d B × %d: %w", what, p.Name(), res.Options.Payload, po.Count, err)
		}
		progress(o.Progress, "%-9s ping-pong %6d B  %-16s p50 %s  p99 %s  p99.9 %s",
			what, res.Options.Payload, p.Name(), fmtNs(float64(pr.P50)), fmtNs(float64(pr.P99)), fmtNs(float64(pr.P999)))
		if order >= 0 {
			pr.Round, pr.Order = r, order
			m.PingPong.Series[i].Runs[r] = pr
		}
		return nil
	})
}

// pingRunOf turns a result into figures, if and only if it passes Check.
func pingRunOf(res *PingResult) (PingRun, error) {
	if err := res.Check(); err != nil {
		return PingRun{}, fmt.Errorf("check failed: %w", err)
	}
	n := time.Duration(max(1, res.Options.Count))
	l := res.Pinger.Latency
	return PingRun{
		P50: l.P50, P99: l.P99, P999: l.P999,
		Mean:      res.Pinger.Elapsed / n,
		PingerCPU: res.Pinger.CPU / n,
	}, nil
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// summarize computes every Stat and Ratio from the runs.
func (m *Matrix) summarize() {
	m.summarizeLossy()
	for ci := range m.Fanout {
		c := &m.Fanout[ci]
		for si := range c.Series {
			s := &c.Series[si]
			s.MsgsPerSec = statOf(metricOf(s.Runs, func(r FanoutRun) float64 { return r.MsgsPerSec }))
			s.BytesPerSec = statOf(metricOf(s.Runs, func(r FanoutRun) float64 { return r.BytesPerSec }))
			s.SenderCPU = statOf(metricOf(s.Runs, func(r FanoutRun) float64 { return r.SenderCPU }))
			s.ReceiverCPU = statOf(metricOf(s.Runs, func(r FanoutRun) float64 { return r.ReceiverCPU }))
		}
		c.Ratios = nil
		for _, cmp := range m.Settings.Fanout {
			sub, base := c.series(cmp.Subject), c.series(cmp.Baseline)
			if sub == nil || base == nil {
				continue
			}
			msgs := func(r FanoutRun) float64 { return r.MsgsPerSec }
			c.Ratios = append(c.Ratios, ratioOf(cmp, metricMsgs, metricOf(sub.Runs, msgs), metricOf(base.Runs, msgs)))
		}
	}
	pt := &m.PingPong
	pcts := []struct {
		metric string
		get    func(PingRun) float64
	}{
		{metricP50, func(r PingRun) float64 { return float64(r.P50) }},
		{metricP99, func(r PingRun) float64 { return float64(r.P99) }},
		{metricP999, func(r PingRun) float64 { return float64(r.P999) }},
	}
	for si := range pt.Series {
		s := &pt.Series[si]
		s.P50 = statOf(metricOf(s.Runs, pcts[0].get))
		s.P99 = statOf(metricOf(s.Runs, pcts[1].get))
		s.P999 = statOf(metricOf(s.Runs, pcts[2].get))
		s.PingerCPU = statOf(metricOf(s.Runs, func(r PingRun) float64 { return float64(r.PingerCPU) }))
	}
	pt.Ratios = nil
	for _, cmp := range m.Settings.Ping {
		sub, base := pt.series(cmp.Subject), pt.series(cmp.Baseline)
		if sub == nil || base == nil {
			continue
		}
		for _, pc := range pcts {
			pt.Ratios = append(pt.Ratios, ratioOf(cmp, pc.metric, metricOf(sub.Runs, pc.get), metricOf(base.Runs, pc.get)))
		}
	}
}

func (c *FanoutCell) series(name string) *FanoutSeries {
	for i := range c.Series {
		if c.Series[i].Transport == name {
			return &c.Series[i]
		}
	}
	return nil
}

func (t *PingTable) series(name string) *PingSeries {
	for i := range t.Series {
		if t.Series[i].Pair == name {
			return &t.Series[i]
		}
	}
	return nil
}
