package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// testTimeout bounds one run in the tests: a transport that loses a message
// or deadlocks fails instead of hanging.
const testTimeout = 60 * time.Second

// TestFanout checks every transport end to end with real processes: every
// receiver gets every message, in order, byte for byte, with the CRC-32C
// the seed implies.
func TestFanout(t *testing.T) {
	checkLeaks(t)
	for _, tr := range Transports() {
		for _, n := range []int{1, 3} {
			for _, payload := range []int{SeqSize, 64, 1500, 65536} {
				t.Run(fmt.Sprintf("%s/rcv=%d/%dB", tr.Name(), n, payload), func(t *testing.T) {
					skipUnlessLossless(t, tr, payload)
					count := 2000 // more than a full ring
					if payload >= 65536 {
						count = 300
					}
					o := FanoutOptions{Receivers: n, Payload: payload, Count: count, Seed: uint64(n*payload + 1), Verify: true, Timeout: testTimeout}
					res, err := RunFanout(context.Background(), tr, o)
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
func skipUnlessLossless(t *testing.T, tr Transport, payload int) {
	t.Helper()
	if status, reason := notRunnable(tr, payload, false); status != "" {
		t.Skipf("%s: %s", status, reason)
	}
}

// TestFanoutLongerThanRing runs the shared-memory ring through many laps so
// that the producer waits on its slowest consumer again and again.
func TestFanoutLongerThanRing(t *testing.T) {
	l, err := newRingLayout(2, 1500)
	if err != nil {
		t.Fatal(err)
	}
	o := FanoutOptions{Receivers: 2, Payload: 1500, Count: int(20 * l.slots), Seed: 5, Verify: true, Timeout: testTimeout}
	res, err := RunFanout(context.Background(), ShmRing{}, o)
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
		{faultDrop, true, "got 99 messages, want 100"},
		{faultReorder, true, "out of order"},
		{faultCorrupt, true, "1 corrupt messages"},
		{faultCorrupt, false, "CRC-32C"},
	}
	for _, tr := range []Transport{SeqPacket{}, ShmRing{}} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s/verify=%v", tr.Name(), tt.fault, tt.verify), func(t *testing.T) {
				o := FanoutOptions{Receivers: 2, Payload: 64, Count: 100, Seed: 3, Verify: tt.verify, Timeout: testTimeout, fault: tt.fault}
				res, err := RunFanout(context.Background(), tr, o)
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
	gen, _ := NewGen(1, 64)
	rcv := Report{Msgs: 10, Bytes: 640, CRC: ExpectedCRC(gen, 10)}
	res := &FanoutResult{
		Options:   FanoutOptions{Receivers: 1, Payload: 64, Count: 10, Seed: 1},
		Sender:    Report{Msgs: 9},
		Receivers: []Report{rcv},
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
	o := FanoutOptions{Receivers: 1, Payload: 64, Count: 10, Timeout: testTimeout}
	_, err := RunFanout(context.Background(), unlisted{SeqPacket{}}, o)
	if err == nil || !strings.Contains(err.Error(), `no transport "unlisted"`) {
		t.Errorf("RunFanout of a transport children cannot find: got %v, want a lookup error", err)
	}
}

// unlisted is a transport that is not in Transports, so children fail to
// find it.
type unlisted struct{ Transport }

func (unlisted) Name() string { return "unlisted" }

// TestFanoutTimeout checks that a run that does not finish in time is
// stopped: its children are killed and nothing is left behind.
func TestFanoutTimeout(t *testing.T) {
	checkLeaks(t)
	o := FanoutOptions{Receivers: 2, Payload: 64, Count: 1 << 40, Timeout: 500 * time.Millisecond}
	start := time.Now()
	_, err := RunFanout(context.Background(), ShmRing{}, o)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("RunFanout of 2⁴⁰ messages in 500ms: got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("RunFanout took %v to give up, want about the timeout", d)
	}
}
