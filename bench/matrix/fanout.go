package matrix

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipn-project/ipn/bench/harness"
)

// FanoutOptions describes one fan-out run: one sender process sends Count
// messages of Payload bytes, each to all Receivers receiver processes.
type FanoutOptions struct {
	Receivers int
	Payload   int // bytes per message, at least SeqSize
	Count     int // messages
	Seed      uint64
	// Verify makes receivers compare every payload byte with the
	// regenerated one (slower; tests set it, benchmarks rely on the CRC).
	Verify bool
	// Lossy is set by RunFanout for a transport that Drops: Check then
	// allows loss (CheckLossy) and receivers always verify content, since
	// a CRC-32C over an unknown subset of messages proves nothing.
	Lossy   bool
	Timeout time.Duration // whole run; 0 means DefaultTimeout
	Timer   harness.Timer // optional, see Timer

	Fault string // test-only: see faultReceiver
}

// FanoutResult is what the children of one fan-out run reported.
type FanoutResult struct {
	Options   FanoutOptions
	Sender    harness.Report
	Receivers []harness.Report
	// Elapsed runs from the start signal to the last report.
	Elapsed time.Duration
}

// RunFanout runs one fan-out over t with real processes: it sets t up, starts
// the sender and the receivers by re-executing the test binary, releases them
// together and collects their reports. It fails if any child fails; whether
// every message arrived intact is for Check.
func RunFanout(ctx context.Context, t harness.Transport, o FanoutOptions) (*FanoutResult, error) {
	if o.Receivers < 1 || o.Payload < harness.SeqSize || o.Count < 0 {
		return nil, fmt.Errorf("bench: %s: receivers %d, payload %d, count %d: want ≥1, ≥%d, ≥0",
			t.Name(), o.Receivers, o.Payload, o.Count, harness.SeqSize)
	}
	if err := harness.Availability(t); err != nil {
		return nil, fmt.Errorf("bench: %s: not available: %w", t.Name(), err)
	}
	o.Lossy = harness.Drops(t)
	plan, err := t.Setup(o.Receivers, o.Payload)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: setup(%d, %d): %w", t.Name(), o.Receivers, o.Payload, err)
	}
	defer plan.Close()
	if len(plan.Files) != 1+o.Receivers {
		return nil, fmt.Errorf("bench: %s: plan has files for %d processes, want %d", t.Name(), len(plan.Files), 1+o.Receivers)
	}
	base := harness.Spec{
		Name: t.Name(), N: o.Receivers, Payload: o.Payload, Count: o.Count,
		Seed: o.Seed, Verify: o.Verify || o.Lossy, Fault: o.Fault, Config: plan.Config,
	}
	procs := []harness.Proc{{Role: harness.RoleSender, Spec: base, Files: plan.Files[0]}}
	for i := range o.Receivers {
		sp := base
		sp.Index = i
		procs = append(procs, harness.Proc{Role: harness.RoleReceiver, Spec: sp, Files: plan.Files[1+i]})
	}
	reps, elapsed, err := harness.RunGroup(ctx, o.Timeout, o.Timer, procs)
	if err != nil {
		return nil, fmt.Errorf("bench: %s fan-out to %d, %d B × %d: %w", t.Name(), o.Receivers, o.Payload, o.Count, err)
	}
	return &FanoutResult{Options: o, Sender: reps[0], Receivers: reps[1:], Elapsed: elapsed}, nil
}

// Check reports every way the run fell short: a receiver that missed,
// reordered or damaged a message, or whose CRC-32C differs from the one the
// sender's payloads give. A lossy run is checked by CheckLossy instead.
func (r *FanoutResult) Check() error {
	o := r.Options
	if o.Lossy {
		return r.CheckLossy()
	}
	gen, err := harness.NewGen(o.Seed, o.Payload)
	if err != nil {
		return err
	}
	wantCRC := harness.ExpectedCRC(gen, o.Count)
	wantBytes := uint64(o.Count) * uint64(o.Payload)
	var errs []error
	if got, want := r.Sender.Msgs, uint64(o.Count); got != want {
		errs = append(errs, fmt.Errorf("sender sent %d messages, want %d", got, want))
	}
	for i, rep := range r.Receivers {
		errs = append(errs, checkStream(fmt.Sprintf("receiver %d", i), rep, uint64(o.Count), wantBytes, wantCRC)...)
	}
	return errors.Join(errs...)
}

// checkStream compares one receiving child's tally with what it must be.
func checkStream(who string, rep harness.Report, msgs, bytes uint64, crc uint32) []error {
	var errs []error
	if rep.Msgs != msgs {
		errs = append(errs, fmt.Errorf("%s: got %d messages, want %d", who, rep.Msgs, msgs))
	}
	if rep.Bytes != bytes {
		errs = append(errs, fmt.Errorf("%s: got %d bytes, want %d", who, rep.Bytes, bytes))
	}
	if rep.OutOfOrder != 0 {
		errs = append(errs, fmt.Errorf("%s: got %d messages out of order, want 0", who, rep.OutOfOrder))
	}
	if rep.Corrupt != 0 {
		errs = append(errs, fmt.Errorf("%s: got %d corrupt messages, want 0", who, rep.Corrupt))
	}
	if rep.CRC != crc {
		errs = append(errs, fmt.Errorf("%s: got CRC-32C %#08x, want %#08x", who, rep.CRC, crc))
	}
	return errs
}

// MsgsPerSecPerReceiver is the mean over receivers of messages received per
// second of the receiver's own elapsed time.
func (r *FanoutResult) MsgsPerSecPerReceiver() float64 {
	var sum float64
	for _, rep := range r.Receivers {
		if rep.Elapsed > 0 {
			sum += float64(rep.Msgs) / rep.Elapsed.Seconds()
		}
	}
	return sum / float64(max(1, len(r.Receivers)))
}

// CheckLossy reports every way a run that may drop fell short: a receiver
// that got a message twice or out of order, a message whose bytes differ
// from what the sender generated for its sequence number (receivers of a
// lossy run compare every byte), or more messages than were sent. Loss
// itself is allowed: it is the figure a lossy run measures.
func (r *FanoutResult) CheckLossy() error {
	o := r.Options
	var errs []error
	if got, want := r.Sender.Msgs, uint64(o.Count); got != want {
		errs = append(errs, fmt.Errorf("sender sent %d messages, want %d", got, want))
	}
	for i, rep := range r.Receivers {
		who := fmt.Sprintf("receiver %d", i)
		if rep.Backward != 0 {
			errs = append(errs, fmt.Errorf("%s: got %d messages reordered or duplicated, want 0", who, rep.Backward))
		}
		if rep.Corrupt != 0 {
			errs = append(errs, fmt.Errorf("%s: got %d corrupt messages, want 0", who, rep.Corrupt))
		}
		if got, max := rep.Msgs+rep.Skipped, uint64(o.Count); got > max {
			errs = append(errs, fmt.Errorf("%s: got %d messages and %d gaps, more than the %d sent", who, rep.Msgs, rep.Skipped, max))
		}
		if got, want := rep.Bytes, rep.Msgs*uint64(o.Payload); got != want {
			errs = append(errs, fmt.Errorf("%s: got %d bytes in %d messages, want %d", who, got, rep.Msgs, want))
		}
	}
	return errors.Join(errs...)
}

// DropRate is the share of the messages sent that a receiver did not get,
// mean over receivers.
func (r *FanoutResult) DropRate() float64 {
	sent := float64(max(1, r.Options.Count))
	var sum float64
	for _, rep := range r.Receivers {
		sum += 1 - float64(rep.Msgs)/sent
	}
	return sum / float64(max(1, len(r.Receivers)))
}
