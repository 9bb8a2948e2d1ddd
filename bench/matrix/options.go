package matrix

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/transport"
)

// MatrixOptions describes a whole comparison: every transport over every
// (receivers, payload) cell and every pair in ping-pong, Rounds times. The
// zero value of a field takes the default given beside it; a nil slice
// takes the default list, an empty non-nil slice means none.
type MatrixOptions struct {
	Receivers  []int               // receivers per fan-out; default {1, 2, 4}
	Payloads   []int               // fan-out payload bytes; default {64, 1500, 65536}
	Transports []harness.Transport // default Transports()
	Pairs      []harness.Pair      // default Pairs()
	Rounds     int                 // default 5 (Quick: 1)

	// The lossy matrix: the same fan-out over transports that may drop,
	// the sender never waiting. A nil slice takes the default; an empty
	// non-nil one means no lossy matrix.
	LossyTransports []harness.Transport // default LossyTransports()
	LossyReceivers  []int               // default Receivers
	LossyPayloads   []int               // default Payloads
	// LossyMessages gives the messages of one lossy run; the default sends
	// min(50k, 16 MiB ÷ payload) (Quick: min(2000, 4 MiB ÷ payload)).
	LossyMessages func(payload int) int

	// Messages gives the messages of one fan-out run for a payload; the
	// default sends min(200k, 64 MiB ÷ payload) (Quick: min(5000, 16 MiB
	// ÷ payload)).
	Messages func(payload int) int

	PingPayload int // default 64 (a PayloadLimiter pair carries less)
	PingCount   int // measured round trips per run; default 20000 (Quick: 2000)
	PingWarmup  int // round trips before the timed ones; default PingCount/10

	// FanoutRatios and PingRatios name the figures divided pair by pair
	// within each round; a comparison whose transport or pair is not in
	// the matrix is left out. Default: ipn against every baseline
	// (DefaultFanoutRatios, DefaultPingRatios).
	FanoutRatios []harness.Comparison
	PingRatios   []harness.Comparison

	// Quick makes the defaults small: a smoke test of the whole matrix,
	// not figures to quote.
	Quick bool

	Seed    uint64        // payload seed of round 0 (round r uses Seed+r)
	Timeout time.Duration // per run; default 5 minutes
	// Progress, if set, gets one line per run as the matrix goes.
	Progress io.Writer
}

// DefaultFanoutRatios compares ipn with every fan-out baseline, and ipn
// through its public API with a coordinator against the bare data plane.
var DefaultFanoutRatios = []harness.Comparison{{Subject: "ipn", Baseline: "seqpacket"}, {Subject: "ipn", Baseline: "dgram"}, {Subject: "ipn", Baseline: "zmq"}, {Subject: "ipn", Baseline: "shmring"}, {Subject: "ipn-api", Baseline: "ipn"}, {Subject: "ipn-api", Baseline: "seqpacket"}}

// DefaultPingRatios compares ipn with the bare eventfd wake-up and the
// socket baseline, and ipn that always sleeps with the bare eventfd.
var DefaultPingRatios = []harness.Comparison{{Subject: "ipn", Baseline: "eventfd"}, {Subject: "ipn", Baseline: "seqpacket"}, {Subject: "ipn-sleep", Baseline: "eventfd"}}

// Default sizes of a matrix.
const (
	matrixRunBytes      = 64 << 20 // bytes one fan-out run sends, at most
	matrixRunMsgs       = 200_000  // messages one fan-out run sends, at most
	matrixQuickRunBytes = 16 << 20
	matrixQuickRunMsgs  = 5000
	matrixPingCount     = 20_000
	matrixQuickPing     = 2000
	matrixRounds        = 5
	lossyRunBytes       = 16 << 20
	lossyRunMsgs        = 50_000
	lossyQuickRunBytes  = 4 << 20
	lossyQuickRunMsgs   = 2000
	matrixTimeout       = 5 * time.Minute
)

// DefaultMessages is the default MatrixOptions.Messages.
func DefaultMessages(payload int) int {
	return max(1, min(matrixRunMsgs, matrixRunBytes/max(1, payload)))
}

func quickMessages(payload int) int {
	return max(1, min(matrixQuickRunMsgs, matrixQuickRunBytes/max(1, payload)))
}

func lossyMessages(payload int) int {
	return max(1, min(lossyRunMsgs, lossyRunBytes/max(1, payload)))
}

func lossyQuickMessages(payload int) int {
	return max(1, min(lossyQuickRunMsgs, lossyQuickRunBytes/max(1, payload)))
}

func (o MatrixOptions) withDefaults() MatrixOptions {
	if o.Receivers == nil {
		o.Receivers = []int{1, 2, 4}
	}
	if o.Payloads == nil {
		o.Payloads = []int{64, 1500, 65536}
	}
	if o.Transports == nil {
		o.Transports = transport.Transports()
	}
	if o.Pairs == nil {
		o.Pairs = transport.Pairs()
	}
	if o.LossyTransports == nil {
		o.LossyTransports = transport.LossyTransports()
	}
	if o.LossyReceivers == nil {
		o.LossyReceivers = o.Receivers
	}
	if o.LossyPayloads == nil {
		o.LossyPayloads = o.Payloads
	}
	if o.LossyMessages == nil {
		o.LossyMessages = lossyMessages
		if o.Quick {
			o.LossyMessages = lossyQuickMessages
		}
	}
	if o.Rounds == 0 {
		o.Rounds = matrixRounds
		if o.Quick {
			o.Rounds = 1
		}
	}
	if o.Messages == nil {
		o.Messages = DefaultMessages
		if o.Quick {
			o.Messages = quickMessages
		}
	}
	if o.PingPayload == 0 {
		o.PingPayload = 64
	}
	if o.PingCount == 0 {
		o.PingCount = matrixPingCount
		if o.Quick {
			o.PingCount = matrixQuickPing
		}
	}
	if o.PingWarmup == 0 {
		o.PingWarmup = o.PingCount / 10
	}
	if o.FanoutRatios == nil {
		o.FanoutRatios = DefaultFanoutRatios
	}
	if o.PingRatios == nil {
		o.PingRatios = DefaultPingRatios
	}
	if o.Timeout == 0 {
		o.Timeout = matrixTimeout
	}
	return o
}

func (o MatrixOptions) validate() error {
	var errs []error
	if o.Rounds < 1 {
		errs = append(errs, fmt.Errorf("rounds %d, want ≥1", o.Rounds))
	}
	for _, n := range o.Receivers {
		if n < 1 {
			errs = append(errs, fmt.Errorf("receivers %d, want ≥1", n))
		}
	}
	for _, n := range o.LossyReceivers {
		if n < 1 {
			errs = append(errs, fmt.Errorf("lossy receivers %d, want ≥1", n))
		}
	}
	for _, p := range o.LossyPayloads {
		if p < harness.SeqSize || o.LossyMessages(p) < 1 {
			errs = append(errs, fmt.Errorf("lossy payload %d with %d messages, want ≥%d and ≥1", p, o.LossyMessages(p), harness.SeqSize))
		}
	}
	for _, p := range o.Payloads {
		if p < harness.SeqSize {
			errs = append(errs, fmt.Errorf("payload %d, want ≥%d", p, harness.SeqSize))
		} else if c := o.Messages(p); c < 1 {
			errs = append(errs, fmt.Errorf("messages(%d) = %d, want ≥1", p, c))
		}
	}
	if o.PingPayload < harness.SeqSize || o.PingCount < 1 || o.PingWarmup < 0 {
		errs = append(errs, fmt.Errorf("ping payload %d, count %d, warm-up %d: want ≥%d, ≥1, ≥0",
			o.PingPayload, o.PingCount, o.PingWarmup, harness.SeqSize))
	}
	// Ratios and children find transports and pairs by name.
	seen := map[string]bool{}
	for _, t := range o.Transports {
		if seen[t.Name()] {
			errs = append(errs, fmt.Errorf("transport %q listed twice", t.Name()))
		}
		seen[t.Name()] = true
	}
	seen = map[string]bool{}
	for _, t := range o.LossyTransports {
		if seen[t.Name()] {
			errs = append(errs, fmt.Errorf("lossy transport %q listed twice", t.Name()))
		}
		seen[t.Name()] = true
	}
	seen = map[string]bool{}
	for _, p := range o.Pairs {
		if seen[p.Name()] {
			errs = append(errs, fmt.Errorf("pair %q listed twice", p.Name()))
		}
		seen[p.Name()] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: matrix options: %w", err)
	}
	return nil
}
