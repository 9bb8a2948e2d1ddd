package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/transport"
)

// TestFanoutLossy checks every lossy transport end to end with real
// processes, sending as fast as the sender can: whatever each receiver gets
// is intact (compared byte for byte with what the sender generated), in
// order and never twice, however much was dropped.
func TestFanoutLossy(t *testing.T) {
	checkLeaks(t)
	for _, tr := range transport.LossyTransports() {
		for _, n := range []int{1, 3} {
			for _, payload := range []int{64, 1500, 65536} {
				t.Run(fmt.Sprintf("%s/rcv=%d/%dB", tr.Name(), n, payload), func(t *testing.T) {
					if status, reason := harness.NotRunnable(tr, payload, true); status != "" {
						t.Skipf("%s: %s", status, reason)
					}
					count := 3000
					if payload >= 65536 {
						count = 300
					}
					o := matrix.FanoutOptions{Receivers: n, Payload: payload, Count: count, Seed: uint64(n*payload + 7), Timeout: testTimeout}
					res, err := matrix.RunFanout(context.Background(), tr, o)
					if err != nil {
						t.Fatal(err)
					}
					if !res.Options.Lossy {
						t.Errorf("RunFanout(%s) ran lossless, want lossy (the transport Drops)", tr.Name())
					}
					if err := res.Check(); err != nil {
						t.Error(err)
					}
					for i, rep := range res.Receivers {
						if rep.Msgs == 0 {
							t.Errorf("receiver %d got nothing of %d messages", i, count)
						}
					}
					t.Logf("drop rate %.3f", res.DropRate())
				})
			}
		}
	}
}

// TestCheckLossyCatchesFaults proves the lossy check can fail: a receiver
// that reorders or corrupts a message is reported even though loss is
// allowed, and a mere drop is not.
func TestCheckLossyCatchesFaults(t *testing.T) {
	tests := []struct {
		fault string
		want  string // in the error; "" for none
	}{
		{harness.FaultDrop, ""},
		{harness.FaultReorder, "reordered or duplicated"},
		{harness.FaultCorrupt, "1 corrupt messages"},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			o := matrix.FanoutOptions{Receivers: 2, Payload: 64, Count: 100, Seed: 3, Timeout: testTimeout, Fault: tt.fault}
			res, err := matrix.RunFanout(context.Background(), transport.Dgram{Lossy: true}, o)
			if err != nil {
				t.Fatal(err)
			}
			err = res.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check with fault %q: got %v, want nil (loss is allowed)", tt.fault, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check with fault %q: got %v, want an error containing %q", tt.fault, err, tt.want)
			}
		})
	}
}
