package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ipn-project/ipn/bench/report"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/transport"
)

// missing is a transport whose program is absent: it must be reported as
// skipped with its reason, never run and never silently left out.
type missing struct{ transport.SeqPacket }

func (missing) Name() string     { return "missing" }
func (missing) Available() error { return errors.New("frobnicator not found") }
func (m missing) Setup(int, int) (*harness.Plan, error) {
	return nil, errors.New("Setup of a transport that is not available")
}

// small is a transport that carries at most 32 bytes: n/a in every cell
// of the test, so that children never have to find it.
type small struct{ transport.SeqPacket }

func (small) Name() string    { return "small" }
func (small) MaxPayload() int { return 32 }

// TestMatrixReportsNotRun runs a tiny matrix with a transport that is not
// available, one that drops and one that cannot carry the payload, and
// checks that progress, Markdown and JSON all say so, with the reasons.
func TestMatrixReportsNotRun(t *testing.T) {
	checkLeaks(t)
	var progress bytes.Buffer
	o := matrix.MatrixOptions{
		Receivers:       []int{1},
		Payloads:        []int{64, 4096},
		Transports:      []harness.Transport{transport.SeqPacket{}, missing{}, transport.Dgram{Lossy: true}, small{}},
		LossyTransports: []harness.Transport{transport.Dgram{Lossy: true}, missing{}},
		Pairs:           []harness.Pair{transport.Eventfd{}, harness.PairOf(missing{})},
		Rounds:          1,
		Messages:        func(int) int { return 100 },
		LossyMessages:   func(int) int { return 100 },
		PingCount:       50,
		Timeout:         testTimeout,
		Progress:        &progress,
	}
	m, err := matrix.RunMatrix(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"skipped   missing", "frobnicator not found", "lossy only dgram-lossy", "n/a       small"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	c := m.Fanout[1] // 4096 B
	for name, want := range map[string]string{"seqpacket": "", "missing": harness.StatusSkipped, "dgram-lossy": harness.StatusLossyOnly, "small": harness.StatusNA} {
		s := c.SeriesOf(name)
		if s == nil || s.Status != want {
			t.Errorf("%s at 4096 B: series %+v, want status %q", name, s, want)
			continue
		}
		if want != "" && (s.Reason == "" || len(s.Runs) != 0) {
			t.Errorf("%s at 4096 B: reason %q and %d runs, want a reason and no runs", name, s.Reason, len(s.Runs))
		}
	}
	if s := m.Lossy[0].SeriesOf("missing"); s == nil || s.Status != harness.StatusSkipped {
		t.Errorf("lossy missing series = %+v, want skipped", s)
	}
	if s := m.PingPong.SeriesOf("missing"); s == nil || s.Status != harness.StatusSkipped {
		t.Errorf("ping-pong missing series = %+v, want skipped", s)
	}

	var md bytes.Buffer
	if err := report.Markdown(&md, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| receivers | payload | seqpacket | missing | dgram-lossy | small |",
		"| skipped | lossy only | n/a |",
		"- **missing** (skipped): frobnicator not found.",
		"- **small** (n/a): small carries at most 32 bytes",
		"## Fan-out: loss and order",
		"| 1 | 64 B | 0 / 0 | skipped | lossy only | n/a |",
		"## Fan-out at an offered rate above capacity (lossy)",
		"| missing | 64 B | skipped | skipped |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}

	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"skipped":[{"name":"missing","reason":"frobnicator not found"}]`, `"status":"lossy only"`, `"status":"n/a"`} {
		if !bytes.Contains(js, []byte(want)) {
			t.Errorf("JSON lacks %s", want)
		}
	}
}
