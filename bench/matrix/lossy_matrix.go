package matrix

import (
	"context"
	"fmt"
	"io"

	"github.com/ipn-project/ipn/bench/harness"
)

// The lossy matrix: the fan-out again, over transports that may drop, with
// the sender sending as fast as it can and never waiting for a slow
// receiver, so that the offered rate is the sender's, above what the
// receivers can take wherever they cannot keep up. Each receiver checks
// what arrives byte for byte, in order, never twice (CheckLossy); the
// figures are the offered rate, each receiver's delivered rate and the
// share dropped.

// newLossyCells lays out the lossy cells that RunMatrix fills.
func newLossyCells(o MatrixOptions) []LossyCell {
	if len(o.LossyTransports) == 0 {
		return nil
	}
	var cells []LossyCell
	for _, n := range o.LossyReceivers {
		for _, payload := range o.LossyPayloads {
			c := LossyCell{Receivers: n, Payload: payload, Messages: o.LossyMessages(payload)}
			for _, t := range o.LossyTransports {
				s := LossySeries{Transport: t.Name()}
				if s.Status, s.Reason = harness.NotRunnable(t, payload, true); s.Status == "" {
					s.Runs = make([]LossyRun, o.Rounds)
				}
				c.Series = append(c.Series, s)
			}
			cells = append(cells, c)
		}
	}
	return cells
}

// lossyRound runs round r of lossy cell c, preceded by the warm-up in
// round 0.
func (m *Matrix) lossyRound(ctx context.Context, o MatrixOptions, c *LossyCell, r int) error {
	fo := FanoutOptions{Receivers: c.Receivers, Payload: c.Payload, Count: c.Messages, Seed: o.Seed + uint64(r), Timeout: o.Timeout}
	skip := func(i int) bool { return c.Series[i].Status != "" }
	return runRotated(len(o.LossyTransports), r, skip, func(i, order int, what string) error {
		t := o.LossyTransports[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := RunFanout(ctx, t, fo)
		if err != nil {
			return err
		}
		lr, err := lossyRunOf(res)
		if err != nil {
			return fmt.Errorf("bench: matrix %s: %s lossy fan-out to %d, %d B × %d: %w", what, t.Name(), c.Receivers, c.Payload, c.Messages, err)
		}
		Progress(o.Progress, "%-9s lossy   rcv=%d %6d B  %-16s %s msgs/s/rcv of %s offered, %.1f%% dropped",
			what, c.Receivers, c.Payload, t.Name(), harness.FmtRate(lr.Delivered), harness.FmtRate(lr.Offered), 100*lr.DropRate)
		if order >= 0 {
			lr.Round, lr.Order = r, order
			c.Series[i].Runs[r] = lr
		}
		return nil
	})
}

// lossyRunOf turns a lossy result into figures, if and only if it passes
// its check.
func lossyRunOf(res *FanoutResult) (LossyRun, error) {
	if !res.Options.Lossy {
		return LossyRun{}, fmt.Errorf("the transport does not drop: it belongs in the lossless matrix")
	}
	if err := res.Check(); err != nil {
		return LossyRun{}, fmt.Errorf("check failed: %w", err)
	}
	lr := LossyRun{Delivered: res.MsgsPerSecPerReceiver(), DropRate: res.DropRate(), Elapsed: res.Elapsed}
	if d := res.Sender.Sending; d > 0 {
		lr.Offered = float64(res.Sender.Msgs) / d.Seconds()
	}
	return lr, nil
}

func (c *LossyCell) SeriesOf(name string) *LossySeries {
	for i := range c.Series {
		if c.Series[i].Transport == name {
			return &c.Series[i]
		}
	}
	return nil
}

// summarizeLossy computes every Stat of the lossy cells.
func (m *Matrix) summarizeLossy() {
	for ci := range m.Lossy {
		for si := range m.Lossy[ci].Series {
			s := &m.Lossy[ci].Series[si]
			s.Offered = harness.StatOf(harness.MetricOf(s.Runs, func(r LossyRun) float64 { return r.Offered }))
			s.Delivered = harness.StatOf(harness.MetricOf(s.Runs, func(r LossyRun) float64 { return r.Delivered }))
			s.DropRate = harness.StatOf(harness.MetricOf(s.Runs, func(r LossyRun) float64 { return r.DropRate }))
		}
	}
}

// lost is the messages the receivers missed, summed.
func (r *FanoutResult) lost() uint64 {
	var n uint64
	for _, rep := range r.Receivers {
		n += uint64(r.Options.Count) - min(uint64(r.Options.Count), rep.Msgs)
	}
	return n
}

// outOfOrder is the receivers' messages out of sequence, summed.
func (r *FanoutResult) outOfOrder() uint64 {
	var n uint64
	for _, rep := range r.Receivers {
		n += rep.OutOfOrder
	}
	return n
}

// addSkip records x (a Transport or Pair) as skipped if it cannot run here.
func (s *MatrixSettings) addSkip(x interface{ Name() string }) {
	err := harness.Availability(x)
	if err == nil {
		return
	}
	for _, k := range s.Skipped {
		if k.Name == x.Name() {
			return
		}
	}
	s.Skipped = append(s.Skipped, Skip{Name: x.Name(), Reason: err.Error()})
}

// reportNotRunnable says, before the first run, which transports and pairs
// get no figures and why, once each.
func (m *Matrix) reportNotRunnable(w io.Writer) {
	for _, k := range m.Settings.Skipped {
		Progress(w, "skipped   %-16s %s", k.Name, k.Reason)
	}
	seen := map[string]bool{}
	for _, c := range m.Fanout {
		for _, s := range c.Series {
			if s.Status == "" || s.Status == harness.StatusSkipped || seen[s.Transport+s.Reason] {
				continue
			}
			seen[s.Transport+s.Reason] = true
			Progress(w, "%-9s %-16s %s", s.Status, s.Transport, s.Reason)
		}
	}
}
