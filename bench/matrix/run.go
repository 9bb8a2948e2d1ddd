package matrix

import (
	"context"
	"fmt"
	"time"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/transport"
	"github.com/ipn-project/ipn/bench/transport/shmring"
)

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
	steal0, stealErr := harness.ReadCPUStat()
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
	if steal1, err := harness.ReadCPUStat(); err == nil && stealErr == nil {
		m.Steal = steal1.StealSince(steal0)
	}
	m.Summarize()
	return m, nil
}

// newMatrix lays out the cells and series that RunMatrix fills.
func newMatrix(o MatrixOptions) *Matrix {
	m := &Matrix{
		Machine: harness.DescribeMachine(),
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
		if l, err := shmring.NewRingLayout(1, payload); err == nil {
			m.Settings.RingSlots = append(m.Settings.RingSlots, RingSlots{Payload: payload, Slots: int(l.Slots)})
		}
		m.Settings.ZMQHWM = append(m.Settings.ZMQHWM, RingSlots{Payload: payload, Slots: transport.ZmqHWM(1, payload)})
	}
	for _, n := range o.Receivers {
		for _, payload := range o.Payloads {
			c := FanoutCell{Receivers: n, Payload: payload, Messages: o.Messages(payload)}
			for _, t := range o.Transports {
				s := FanoutSeries{Transport: t.Name()}
				if s.Status, s.Reason = harness.NotRunnable(t, payload, false); s.Status == "" {
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
		if err := harness.Availability(p); err != nil {
			s.Status, s.Reason = harness.StatusSkipped, err.Error()
		} else {
			s.Runs = make([]PingRun, o.Rounds)
		}
		m.PingPong.Series = append(m.PingPong.Series, s)
	}
	return m
}

// ipnPoolSetting describes the message pool of the IPN transports listed.
func ipnPoolSetting(ts []harness.Transport) string {
	for _, t := range ts {
		if t, ok := t.(transport.IPN); ok {
			if t.Pool == 0 {
				return "as many slots as the bare ring"
			}
			return fmt.Sprintf("%d slots", t.Pool)
		}
	}
	return ""
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
		fr, err := FanoutRunOf(res)
		if err != nil {
			return fmt.Errorf("bench: matrix %s: %s fan-out to %d, %d B × %d: %w", what, t.Name(), c.Receivers, c.Payload, c.Messages, err)
		}
		Progress(o.Progress, "%-9s fan-out rcv=%d %6d B  %-16s %s msgs/s/rcv  %s",
			what, c.Receivers, c.Payload, t.Name(), harness.FmtRate(fr.MsgsPerSec), harness.FmtBytesRate(fr.BytesPerSec))
		if order >= 0 {
			fr.Round, fr.Order = r, order
			c.Series[i].Runs[r] = fr
		}
		return nil
	})
}

// FanoutRunOf turns a result into figures, if and only if it passes Check.
func FanoutRunOf(res *FanoutResult) (FanoutRun, error) {
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
		pr, err := PingRunOf(res)
		if err != nil {
			return fmt.Errorf("bench: matrix %s: %s ping-pong, %d B × %d: %w", what, p.Name(), res.Options.Payload, po.Count, err)
		}
		Progress(o.Progress, "%-9s ping-pong %6d B  %-16s p50 %s  p99 %s  p99.9 %s",
			what, res.Options.Payload, p.Name(), harness.FmtNs(float64(pr.P50)), harness.FmtNs(float64(pr.P99)), harness.FmtNs(float64(pr.P999)))
		if order >= 0 {
			pr.Round, pr.Order = r, order
			m.PingPong.Series[i].Runs[r] = pr
		}
		return nil
	})
}

// PingRunOf turns a result into figures, if and only if it passes Check.
func PingRunOf(res *PingResult) (PingRun, error) {
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

// Summarize computes every Stat and Ratio from the runs.
func (m *Matrix) Summarize() {
	m.summarizeLossy()
	for ci := range m.Fanout {
		c := &m.Fanout[ci]
		for si := range c.Series {
			s := &c.Series[si]
			s.MsgsPerSec = harness.StatOf(harness.MetricOf(s.Runs, func(r FanoutRun) float64 { return r.MsgsPerSec }))
			s.BytesPerSec = harness.StatOf(harness.MetricOf(s.Runs, func(r FanoutRun) float64 { return r.BytesPerSec }))
			s.SenderCPU = harness.StatOf(harness.MetricOf(s.Runs, func(r FanoutRun) float64 { return r.SenderCPU }))
			s.ReceiverCPU = harness.StatOf(harness.MetricOf(s.Runs, func(r FanoutRun) float64 { return r.ReceiverCPU }))
		}
		c.Ratios = nil
		for _, cmp := range m.Settings.Fanout {
			sub, base := c.SeriesOf(cmp.Subject), c.SeriesOf(cmp.Baseline)
			if sub == nil || base == nil {
				continue
			}
			msgs := func(r FanoutRun) float64 { return r.MsgsPerSec }
			c.Ratios = append(c.Ratios, harness.RatioOf(cmp, harness.MetricMsgs, harness.MetricOf(sub.Runs, msgs), harness.MetricOf(base.Runs, msgs)))
		}
	}
	pt := &m.PingPong
	pcts := []struct {
		metric string
		get    func(PingRun) float64
	}{
		{harness.MetricP50, func(r PingRun) float64 { return float64(r.P50) }},
		{harness.MetricP99, func(r PingRun) float64 { return float64(r.P99) }},
		{harness.MetricP999, func(r PingRun) float64 { return float64(r.P999) }},
	}
	for si := range pt.Series {
		s := &pt.Series[si]
		s.P50 = harness.StatOf(harness.MetricOf(s.Runs, pcts[0].get))
		s.P99 = harness.StatOf(harness.MetricOf(s.Runs, pcts[1].get))
		s.P999 = harness.StatOf(harness.MetricOf(s.Runs, pcts[2].get))
		s.PingerCPU = harness.StatOf(harness.MetricOf(s.Runs, func(r PingRun) float64 { return float64(r.PingerCPU) }))
	}
	pt.Ratios = nil
	for _, cmp := range m.Settings.Ping {
		sub, base := pt.SeriesOf(cmp.Subject), pt.SeriesOf(cmp.Baseline)
		if sub == nil || base == nil {
			continue
		}
		for _, pc := range pcts {
			pt.Ratios = append(pt.Ratios, harness.RatioOf(cmp, pc.metric, harness.MetricOf(sub.Runs, pc.get), harness.MetricOf(base.Runs, pc.get)))
		}
	}
}
