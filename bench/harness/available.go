package harness

import "fmt"

// Optional abilities of a Transport (or Pair) that the matrix, the tests and
// the benchmarks honour. Each is a separate small interface, checked with a
// type assertion, so that a transport that needs none of them implements
// none.

// Prober is a Transport or Pair that depends on a program or library the
// machine may lack (vde_switch, libzmq). Available returns nil when it can
// run here, or why it cannot. A transport that is not available is reported
// as skipped with that reason (in progress, Markdown and JSON), never
// silently left out.
type Prober interface {
	Available() error
}

// Dropper is a Transport that may drop messages when a receiver falls
// behind, by design or because of its settings. Its runs are checked by
// CheckLossy (what arrived is intact, in order, never twice) instead of
// Check, and it belongs in the lossy matrix; in the lossless matrix it is
// reported as "lossy only".
type Dropper interface {
	Drops() bool
}

// Availability is nil when x can run on this machine, or why it cannot.
func Availability(x any) error {
	if p, ok := x.(Prober); ok {
		return p.Available()
	}
	return nil
}

// Drops reports whether t may drop messages.
func Drops(t Transport) bool {
	d, ok := t.(Dropper)
	return ok && d.Drops()
}

// Why a series of the matrix has no figures. The Markdown shows the label
// in the table and the reason in a note under it.
const (
	StatusSkipped   = "skipped"    // the transport cannot run on this machine
	StatusNA        = "n/a"        // the transport cannot carry this payload
	StatusLossyOnly = "lossy only" // the transport may drop, so it has no lossless figures
)

// NotRunnable returns the status and reason for which t gets no figures
// for payload in a matrix of the given lossiness, or "" when it runs.
func NotRunnable(t Transport, payload int, lossy bool) (status, reason string) {
	if err := Availability(t); err != nil {
		return StatusSkipped, err.Error()
	}
	if !lossy && Drops(t) {
		return StatusLossyOnly, t.Name() + " may drop messages when a receiver falls behind, so it appears in the lossy table only"
	}
	if l, ok := t.(PayloadLimiter); ok && payload > l.MaxPayload() {
		return StatusNA, fmt.Sprintf("%s carries at most %d bytes of payload per message", t.Name(), l.MaxPayload())
	}
	return "", ""
}

// PayloadLimiter is an optional ability of a Pair (or Transport) that cannot
// carry payloads above MaxPayload bytes, such as an eventfd that carries
// only its 8-byte counter. RunPingPong clamps the payload to it.
type PayloadLimiter interface {
	MaxPayload() int
}
