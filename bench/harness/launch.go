package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timer is the part of *testing.B the harness drives: it runs from the start
// signal, once every child is ready, until every child has reported.
type Timer interface {
	StartTimer()
	StopTimer()
}

// DefaultTimeout bounds a run whose options give no timeout.
const DefaultTimeout = 2 * time.Minute

// Proc is one child process to start.
type Proc struct {
	Role  Role
	Spec  Spec
	Files []*os.File
}

// event is one thing a child printed or did, seen by its stdout reader.
type event struct {
	i      int
	ready  bool
	report *Report
	err    error // stdout closed (err == nil: clean EOF) or unreadable
	eof    bool
}

// group is the running child processes of one run. Its methods are called
// by one goroutine; the stdout readers it starts are stopped by the
// processes' exit and joined in wait.
type group struct {
	cancel  context.CancelFunc
	cmds    []*exec.Cmd
	names   []string // "receiver 2", for errors
	stderr  []*TailBuffer
	events  chan event
	readers sync.WaitGroup
	startW  *os.File
	killed  bool
}

// RunGroup is the whole life of one run: start procs, wait until every one
// is ready, release them together, collect one report per child, wait for
// their exit. The timer (may be nil) covers release to last report.
//
// Flow:
//
//	parent                         child i (RunChild)
//	start(procs) ───exec──────────▶ open endpoint
//	wait ready   ◀──"ready" line─── release: print ready, read start pipe
//	timer.Start; close start pipe ─▶ EOF: run the stream
//	collect      ◀──report line──── print report, exit
//	timer.Stop; wait exits
func RunGroup(ctx context.Context, timeout time.Duration, timer Timer, procs []Proc) ([]Report, time.Duration, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	g, err := start(ctx, cancel, procs)
	if err != nil {
		return nil, 0, err
	}
	if err := g.awaitReady(ctx); err != nil {
		return nil, 0, g.fail(err)
	}
	if timer != nil {
		timer.StartTimer()
	}
	t0 := time.Now()
	g.startW.Close() // every child sees EOF on its start pipe at once
	reps, err := g.collect(ctx)
	elapsed := time.Since(t0)
	if timer != nil {
		timer.StopTimer()
	}
	if err != nil {
		return reps, elapsed, g.fail(err)
	}
	if err := g.wait(); err != nil {
		return reps, elapsed, err
	}
	return reps, elapsed, nil
}

// start spawns every proc by re-executing this test binary.
func start(ctx context.Context, cancel context.CancelFunc, procs []Proc) (*group, error) {
	exe, err := os.Executable() // this test binary
	if err != nil {
		return nil, fmt.Errorf("bench: finding the test binary: %w", err)
	}
	startR, startW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer startR.Close() // the children hold their copies
	g := &group{
		cancel: cancel,
		events: make(chan event, 3*len(procs)),
		startW: startW,
	}
	ok := false
	defer func() {
		if !ok {
			g.stop()
		}
	}()
	for i, p := range procs {
		p.Spec.Files = len(p.Files)
		env, err := childEnv(p.Role, p.Spec)
		if err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, exe)
		cmd.Env = append(os.Environ(), env...)
		cmd.ExtraFiles = append([]*os.File{startR}, p.Files...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		errBuf := &TailBuffer{}
		cmd.Stderr = errBuf
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("bench: start %s %d: %w", p.Role, p.Spec.Index, err)
		}
		g.cmds = append(g.cmds, cmd)
		g.names = append(g.names, fmt.Sprintf("%s %d", p.Role, p.Spec.Index))
		g.stderr = append(g.stderr, errBuf)
		g.readers.Add(1)
		go g.readStdout(i, bufio.NewScanner(out))
	}
	ok = true
	return g, nil
}

// readStdout is the goroutine that turns child i's stdout into events.
func (g *group) readStdout(i int, sc *bufio.Scanner) {
	defer g.readers.Done()
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == readyLine:
			g.events <- event{i: i, ready: true}
		case strings.HasPrefix(line, reportPrefix):
			var rep Report
			if err := json.Unmarshal([]byte(line[len(reportPrefix):]), &rep); err != nil {
				g.events <- event{i: i, eof: true, err: fmt.Errorf("bad report %q: %w", line, err)}
				return
			}
			g.events <- event{i: i, report: &rep}
		}
	}
	g.events <- event{i: i, eof: true, err: sc.Err()}
}

// awaitReady waits until every child printed its ready line.
func (g *group) awaitReady(ctx context.Context) error {
	for ready := 0; ready < len(g.cmds); {
		select {
		case ev := <-g.events:
			switch {
			case ev.ready:
				ready++
			case ev.report != nil:
				return fmt.Errorf("bench: %s %d failed before start: %s", ev.report.Role, ev.report.Index, ev.report.Err)
			default:
				return fmt.Errorf("bench: child %d exited before start (stdout: %v)", ev.i, ev.err)
			}
		case <-ctx.Done():
			return fmt.Errorf("bench: waiting for children to be ready: %w", ctx.Err())
		}
	}
	return nil
}

// collect waits for one report per child. It fails on the first report of a
// failure, a child that exits without a report, or the timeout.
func (g *group) collect(ctx context.Context) ([]Report, error) {
	reps := make([]Report, len(g.cmds))
	got := make([]bool, len(g.cmds))
	for n := 0; n < len(g.cmds); {
		select {
		case ev := <-g.events:
			switch {
			case ev.report != nil:
				reps[ev.i], got[ev.i] = *ev.report, true
				n++
				if ev.report.Err != "" {
					return reps, fmt.Errorf("bench: %s %d: %s", ev.report.Role, ev.report.Index, ev.report.Err)
				}
			case ev.eof && !got[ev.i]:
				return reps, fmt.Errorf("bench: child %d exited without a report (stdout: %v)", ev.i, ev.err)
			}
		case <-ctx.Done():
			return reps, fmt.Errorf("bench: waiting for reports (%d children): %w", len(g.cmds), ctx.Err())
		}
	}
	return reps, nil
}

// wait waits for every child to exit and reports any that failed, with the
// tail of its stderr (a race report, a panic).
func (g *group) wait() error {
	g.readers.Wait() // exec: read all of stdout before Wait
	var errs []error
	for i, cmd := range g.cmds {
		if err := cmd.Wait(); err != nil && !g.killed {
			errs = append(errs, fmt.Errorf("bench: %s: %w\n%s", g.names[i], err, g.stderr[i].String()))
		}
	}
	g.startW.Close()
	return errors.Join(errs...)
}

// stop kills every child and waits for them.
func (g *group) stop() {
	g.killed = true
	g.cancel() // exec.CommandContext kills each child
	g.wait()
}

// fail stops the group and returns err with the children's stderr tails
// appended.
func (g *group) fail(err error) error {
	g.stop()
	var b strings.Builder
	for i, e := range g.stderr {
		if s := strings.TrimSpace(e.String()); s != "" {
			fmt.Fprintf(&b, "\n--- %s stderr:\n%s", g.names[i], s)
		}
	}
	return fmt.Errorf("%w%s", err, b.String())
}

// TailBuffer keeps the last few KiB written to it. Safe for concurrent use.
type TailBuffer struct {
	mu sync.Mutex
	b  []byte
}

const tailMax = 8 << 10

func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = append(t.b[:0], t.b[len(t.b)-tailMax:]...)
	}
	return len(p), nil
}

func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
