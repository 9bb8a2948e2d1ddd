package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"time"

	"golang.org/x/sys/unix"
)

// Lines a child writes on its standard output. The parent ignores others.
const (
	readyLine    = "ipnbench ready"
	reportPrefix = "ipnbench report "
)

// File descriptors of a child: the start pipe, then the transport's files.
const (
	startFD = 3
	firstFD = 4
)

// IsChild reports whether the harness started this process as a child.
func IsChild() bool { return os.Getenv(RoleEnv) != "" }

// RunChild plays the role the environment names, finding its transport or
// pair by name in the lists given, and returns the process exit code.
//
// Child flow: open the endpoint, print readyLine, block until the parent
// closes the start pipe, run the stream, print one report line, exit. (A
// ponger echoes without waiting for the start; a pinger warms up first.)
func RunChild(transports []Transport, pairs []Pair) int {
	role, sp, err := childSpec()
	rep := Report{Role: role, Index: sp.Index}
	if err == nil {
		err = runRole(transports, pairs, role, sp, &rep)
	}
	if err != nil {
		rep.Err = err.Error()
	}
	js, jerr := json.Marshal(rep)
	if jerr != nil {
		fmt.Fprintf(os.Stderr, "bench: report: %v\n", jerr)
		return 2
	}
	fmt.Fprintf(os.Stdout, "%s%s\n", reportPrefix, js)
	if err != nil {
		return 1
	}
	return 0
}

func runRole(transports []Transport, pairs []Pair, role Role, sp Spec, rep *Report) error {
	startPipe := os.NewFile(startFD, "start")
	defer startPipe.Close()
	files := make([]*os.File, sp.Files)
	for i := range files {
		files[i] = os.NewFile(uintptr(firstFD+i), fmt.Sprintf("%s-file%d", sp.Name, i))
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	ep := Endpoint{Index: sp.Index, N: sp.N, Payload: sp.Payload, Config: sp.Config, Files: files}

	switch role {
	case RoleSender, RoleReceiver:
		t, err := lookup(transports, "transport", sp.Name)
		if err != nil {
			return err
		}
		if role == RoleSender {
			return runSender(t, ep, sp, startPipe, rep)
		}
		return runReceiver(t, ep, sp, startPipe, rep)
	default:
		p, err := lookup(pairs, "pair", sp.Name)
		if err != nil {
			return err
		}
		if role == RolePinger {
			return runPinger(p, ep, sp, startPipe, rep)
		}
		return runPonger(p, ep, rep)
	}
}

// release tells the parent this child is ready and waits for the start signal.
func release(startPipe *os.File) error {
	if _, err := fmt.Fprintln(os.Stdout, readyLine); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, startPipe); err != nil {
		return fmt.Errorf("bench: waiting for start: %w", err)
	}
	return nil
}

func runSender(t Transport, ep Endpoint, sp Spec, startPipe *os.File, rep *Report) error {
	gen, err := NewGen(sp.Seed, sp.Payload)
	if err != nil {
		return err
	}
	s, err := t.OpenSender(ep)
	if err != nil {
		return fmt.Errorf("bench: %s: open sender: %w", t.Name(), err)
	}
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	buf := make([]byte, sp.Payload)
	if err := release(startPipe); err != nil {
		return err
	}
	a0, c0, t0 := allocs(), cpuTime(), time.Now()
	for seq := range uint64(sp.Count) {
		gen.Fill(buf, seq)
		if err := s.Send(buf); err != nil {
			return fmt.Errorf("bench: %s: send %d: %w", t.Name(), seq, err)
		}
		rep.Msgs++
		rep.Bytes += uint64(len(buf))
	}
	rep.Sending = time.Since(t0)
	closed = true
	err = s.Close()
	rep.Elapsed, rep.Allocs, rep.CPU = time.Since(t0), allocs()-a0, cpuTime()-c0
	if err != nil {
		return fmt.Errorf("bench: %s: close sender: %w", t.Name(), err)
	}
	return nil
}

func runReceiver(t Transport, ep Endpoint, sp Spec, startPipe *os.File, rep *Report) error {
	var verify *Gen
	if sp.Verify {
		g, err := NewGen(sp.Seed, sp.Payload)
		if err != nil {
			return err
		}
		verify = g
	}
	r, err := t.OpenReceiver(ep)
	if err != nil {
		return fmt.Errorf("bench: %s: open receiver %d: %w", t.Name(), ep.Index, err)
	}
	defer r.Close()
	if sp.Fault != "" {
		r = newFaultReceiver(r, sp.Fault)
	}
	tally := NewTally(verify)
	if err := release(startPipe); err != nil {
		return err
	}
	a0, c0, t0 := allocs(), cpuTime(), time.Now()
	for {
		p, err := r.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rep.addTally(tally)
			return fmt.Errorf("bench: %s: receiver %d: after %d messages: %w", t.Name(), ep.Index, tally.Msgs, err)
		}
		tally.Add(p)
	}
	rep.Elapsed, rep.Allocs, rep.CPU = time.Since(t0), allocs()-a0, cpuTime()-c0
	rep.addTally(tally)
	return nil
}

// runPinger warms up with sp.Warmup round trips before it says it is ready,
// so that the parent's timer covers exactly the sp.Count measured ones.
func runPinger(p Pair, ep Endpoint, sp Spec, startPipe *os.File, rep *Report) error {
	gen, err := NewGen(sp.Seed, sp.Payload)
	if err != nil {
		return err
	}
	c, err := p.OpenConn(ep)
	if err != nil {
		return fmt.Errorf("bench: %s: open pinger: %w", p.Name(), err)
	}
	closed := false
	defer func() {
		if !closed {
			c.Close()
		}
	}()
	buf := make([]byte, sp.Payload)
	lat := make([]time.Duration, sp.Count)
	tally := NewTally(gen) // echoes are checked byte for byte, outside the timed part
	roundTrip := func(seq uint64) (time.Duration, error) {
		gen.Fill(buf, seq)
		r0 := time.Now()
		if err := c.Send(buf); err != nil {
			return 0, fmt.Errorf("bench: %s: ping %d: %w", p.Name(), seq, err)
		}
		q, err := c.Recv()
		d := time.Since(r0)
		if err != nil {
			return 0, fmt.Errorf("bench: %s: pong %d: %w", p.Name(), seq, err)
		}
		tally.Add(q)
		return d, nil
	}
	for i := range sp.Warmup {
		if _, err := roundTrip(uint64(i)); err != nil {
			rep.addTally(tally)
			return err
		}
	}
	if err := release(startPipe); err != nil {
		return err
	}
	a0, c0, t0 := allocs(), cpuTime(), time.Now()
	for i := range sp.Count {
		d, err := roundTrip(uint64(sp.Warmup + i))
		if err != nil {
			rep.addTally(tally)
			return err
		}
		lat[i] = d
	}
	closed = true
	err = c.Close()
	rep.Elapsed, rep.Allocs, rep.CPU = time.Since(t0), allocs()-a0, cpuTime()-c0
	rep.addTally(tally)
	rep.Latency = Summarize(lat)
	if err != nil {
		return fmt.Errorf("bench: %s: close pinger: %w", p.Name(), err)
	}
	return nil
}

// runPonger echoes from the moment it is open, without waiting for the start
// signal, so that the pinger can warm up before it says it is ready.
func runPonger(p Pair, ep Endpoint, rep *Report) error {
	c, err := p.OpenConn(ep)
	if err != nil {
		return fmt.Errorf("bench: %s: open ponger: %w", p.Name(), err)
	}
	defer c.Close()
	if _, err := fmt.Fprintln(os.Stdout, readyLine); err != nil {
		return err
	}
	a0, c0, t0 := allocs(), cpuTime(), time.Now()
	for {
		q, err := c.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("bench: %s: ponger after %d: %w", p.Name(), rep.Msgs, err)
		}
		rep.Msgs++
		rep.Bytes += uint64(len(q))
		if err := c.Send(q); err != nil {
			return fmt.Errorf("bench: %s: echo %d: %w", p.Name(), rep.Msgs, err)
		}
	}
	rep.Elapsed, rep.Allocs, rep.CPU = time.Since(t0), allocs()-a0, cpuTime()-c0
	return nil
}

// cpuTime returns the user and system CPU time this process has used so
// far, all threads together, or 0 if the kernel will not say.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// allocs returns the number of heap allocations so far in this process.
func allocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// lookup finds the transport or pair of a child's spec by its name: the
// parent and its children know the same lists.
func lookup[T interface{ Name() string }](list []T, what, name string) (T, error) {
	for _, x := range list {
		if x.Name() == name {
			return x, nil
		}
	}
	var zero T
	return zero, fmt.Errorf("bench: no %s %q in the lists the child was given", what, name)
}
