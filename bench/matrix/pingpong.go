package matrix

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipn-project/ipn/bench/harness"
)

// PingOptions describes one ping-pong run: the pinger sends a message, the
// ponger echoes it, Warmup+Count times; the Count last are timed.
type PingOptions struct {
	Payload int // bytes per message, at least SeqSize; clamped by PayloadLimiter
	Count   int // measured round trips
	Warmup  int // unmeasured round trips before the start signal
	Seed    uint64
	Timeout time.Duration // whole run; 0 means DefaultTimeout
	Timer   harness.Timer // optional, see Timer
}

// PingResult is what the two children of one ping-pong run reported.
type PingResult struct {
	Options PingOptions    // Payload as clamped
	Pinger  harness.Report // Latency holds the round-trip summary
	Ponger  harness.Report
	Elapsed time.Duration // start signal to last report
}

// PairPayload is the payload a ping-pong over p carries when asked for payload.
func PairPayload(p harness.Pair, payload int) int {
	if l, ok := p.(harness.PayloadLimiter); ok {
		return min(payload, l.MaxPayload())
	}
	return payload
}

// RunPingPong runs one ping-pong over p between two real processes.
func RunPingPong(ctx context.Context, p harness.Pair, o PingOptions) (*PingResult, error) {
	if err := harness.Availability(p); err != nil {
		return nil, fmt.Errorf("bench: %s: not available: %w", p.Name(), err)
	}
	o.Payload = PairPayload(p, o.Payload)
	if o.Payload < harness.SeqSize || o.Count < 0 || o.Warmup < 0 {
		return nil, fmt.Errorf("bench: %s: payload %d, count %d, warmup %d: want ≥%d, ≥0, ≥0",
			p.Name(), o.Payload, o.Count, o.Warmup, harness.SeqSize)
	}
	plan, err := p.SetupPair(o.Payload)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: setup(%d): %w", p.Name(), o.Payload, err)
	}
	defer plan.Close()
	if len(plan.Files) != 2 {
		return nil, fmt.Errorf("bench: %s: plan has files for %d processes, want 2", p.Name(), len(plan.Files))
	}
	base := harness.Spec{Name: p.Name(), N: 1, Payload: o.Payload, Count: o.Count, Warmup: o.Warmup, Seed: o.Seed, Config: plan.Config}
	pong := base
	pong.Index = 1
	procs := []harness.Proc{
		{Role: harness.RolePinger, Spec: base, Files: plan.Files[0]},
		{Role: harness.RolePonger, Spec: pong, Files: plan.Files[1]},
	}
	reps, elapsed, err := harness.RunGroup(ctx, o.Timeout, o.Timer, procs)
	if err != nil {
		return nil, fmt.Errorf("bench: %s ping-pong, %d B × %d: %w", p.Name(), o.Payload, o.Count, err)
	}
	return &PingResult{Options: o, Pinger: reps[0], Ponger: reps[1], Elapsed: elapsed}, nil
}

// Check reports every way the run fell short: a lost, reordered or damaged
// echo, or a latency summary that does not cover every measured round trip.
func (r *PingResult) Check() error {
	o := r.Options
	gen, err := harness.NewGen(o.Seed, o.Payload)
	if err != nil {
		return err
	}
	total := o.Warmup + o.Count
	wantBytes := uint64(total) * uint64(o.Payload)
	errs := checkStream("pinger", r.Pinger, uint64(total), wantBytes, harness.ExpectedCRC(gen, total))
	if got, want := r.Ponger.Msgs, uint64(total); got != want {
		errs = append(errs, fmt.Errorf("ponger: got %d messages, want %d", got, want))
	}
	if r.Pinger.Latency == nil {
		errs = append(errs, errors.New("pinger: no latency summary"))
	} else if got := r.Pinger.Latency.Samples; got != o.Count {
		errs = append(errs, fmt.Errorf("pinger: got %d latency samples, want %d", got, o.Count))
	}
	return errors.Join(errs...)
}
