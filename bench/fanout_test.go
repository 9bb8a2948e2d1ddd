package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/transport"
	"github.com/ipn-project/ipn/bench/transport/shmring"
)

// testTimeout bounds one run in the tests: a transport that loses a message
// or deadlocks fails instead of hanging.
const testTimeout = 60 * time.Second

// TestFanout checks every transport end to end with real processes: every
// receiver gets every message, in order, byte for byte, with the CRC-32C
// the seed implies.
func TestFanout(t *testing.T) {
	checkLeaks(t)
	for _, tr := range transport.Transports() {
		for _, n := range []int{1, 3} {
			for _, payload := range []int{harness.SeqSize, 64, 1500, 65536} {
				t.Run(fmt.Sprintf("%s/rcv=%d/%dB", tr.Name(), n, payload), func(t *testing.T) {
					skipUnlessLossless(t, tr, payload)
					count := 2000 // more than a full ring
					if payload >= 65536 {
						count = 300
					}
					o := matrix.FanoutOptions{Receivers: n, Payload: payload, Count: count, Seed: uint64(n*payload + 1), Verify: true, Timeout: testTimeout}
					res, err := matrix.RunFanout(context.Background(), tr, o)
					if err != nil {
						t.Fatal(err)
					}
					if err := res.Check(); err != nil {
						t.Error(err)
					}
					if got := len(res.Receivers); got != n {
						t.Errorf("got %d receiver reports, want %d", got, n)
					}
				})
			}
		}
	}
}

// skipUnlessLossless skips a lossless test of tr at payload, saying why, when
// tr cannot run here, may drop messages, or cannot carry payload.
func skipUnlessLossless(t *testing.T, tr harness.Transport, payload int) {
	t.Helper()
	if status, reason := harness.NotRunnable(tr, payload, false); status != "" {
		t.Skipf("%s: %s", status, reason)
	}
}

// TestFanoutLongerThanRing runs the shared-memory ring through many laps so
// that the producer waits on its slowest consumer again and again.
func TestFanoutLongerThanRing(t *testing.T) {
	l, err := shmring.NewRingLayout(2, 1500)
	if err != nil {
		t.Fatal(err)
	}
	o := matrix.FanoutOptions{Receivers: 2, Payload: 1500, Count: int(20 * l.Slots), Seed: 5, Verify: true, Timeout: testTimeout}
	res, err := matrix.RunFanout(context.Background(), shmring.ShmRing{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); err != nil {
		t.Error(err)
	}
}

// TestFanoutCatchesFaults proves the checks can fail: a receiver that drops,
// reorders or corrupts a message, in real child processes, must be reported.
func TestFanoutCatchesFaults(t *testing.T) {
	tests := []struct {
		fault  string
		verify bool
		want   string // in Check's error
	}{
		{harness.FaultDrop, true, "got 99 messages, want 100"},
		{harness.FaultReorder, true, "out of order"},
		{harness.FaultCorrupt, true, "1 corrupt messages"},
		{harness.FaultCorrupt, false, "CRC-32C"},
	}
	for _, tr := range []harness.Transport{transport.SeqPacket{}, shmring.ShmRing{}} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s/verify=%v", tr.Name(), tt.fault, tt.verify), func(t *testing.T) {
				o := matrix.FanoutOptions{Receivers: 2, Payload: 64, Count: 100, Seed: 3, Verify: tt.verify, Timeout: testTimeout, Fault: tt.fault}
				res, err := matrix.RunFanout(context.Background(), tr, o)
				if err != nil {
					t.Fatal(err)
				}
				err = res.Check()
				if err == nil {
					t.Fatalf("Check with fault %q: got nil error, want one containing %q", tt.fault, tt.want)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Check with fault %q: got %q, want it to contain %q", tt.fault, err, tt.want)
				}
			})
		}
	}
}

// TestFanoutCheckSender checks that a sender that sent too little is caught
// even when the receivers agree with it.
func TestFanoutCheckSender(t *testing.T) {
	gen, _ := harness.NewGen(1, 64)
	rcv := harness.Report{Msgs: 10, Bytes: 640, CRC: harness.ExpectedCRC(gen, 10)}
	res := &matrix.FanoutResult{
		Options:   matrix.FanoutOptions{Receivers: 1, Payload: 64, Count: 10, Seed: 1},
		Sender:    harness.Report{Msgs: 9},
		Receivers: []harness.Report{rcv},
	}
	if err := res.Check(); err == nil || !strings.Contains(err.Error(), "sender sent 9 messages, want 10") {
		t.Errorf("Check: got %v, want the sender's shortfall", err)
	}
	res.Sender.Msgs = 10
	if err := res.Check(); err != nil {
		t.Errorf("Check of a good result: got %v, want nil", err)
	}
}

// TestFanoutChildFailure checks that a child that cannot run is reported
// with its error rather than hanging the parent.
func TestFanoutChildFailure(t *testing.T) {
	checkLeaks(t)
	o := matrix.FanoutOptions{Receivers: 1, Payload: 64, Count: 10, Timeout: testTimeout}
	_, err := matrix.RunFanout(context.Background(), unlisted{transport.SeqPacket{}}, o)
	if err == nil || !strings.Contains(err.Error(), `no transport "unlisted"`) {
		t.Errorf("RunFanout of a transport children cannot find: got %v, want a lookup error", err)
	}
}

// unlisted is a transport that is not in Transports, so children fail to
// find it.
type unlisted struct{ harness.Transport }

func (unlisted) Name() string { return "unlisted" }

// TestFanoutTimeout checks that a run that does not finish in time is
// stopped: its children are killed and nothing is left behind.
func TestFanoutTimeout(t *testing.T) {
	checkLeaks(t)
	o := matrix.FanoutOptions{Receivers: 2, Payload: 64, Count: 1 << 40, Timeout: 500 * time.Millisecond}
	start := time.Now()
	_, err := matrix.RunFanout(context.Background(), shmring.ShmRing{}, o)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("RunFanout of 2⁴⁰ messages in 500ms: got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("RunFanout took %v to give up, want about the timeout", d)
	}
}
