package transport

import (
	"github.com/ipn-project/ipn/bench/harness"
)

import "golang.org/x/sys/unix"

// Dgram is the AF_UNIX SOCK_DGRAM baseline: one socketpair per receiver,
// fan-out by one blocking send per receiver per message. A connected AF_UNIX
// datagram socket blocks its sender when the receiver's queue is full, so
// nothing is dropped. Dgram is stateless and safe for concurrent use.
type Dgram struct {
	// Lossy sends without waiting (MSG_DONTWAIT): a message that finds a
	// receiver's queue full is dropped for that receiver. The end of the
	// stream is still sent blocking, so that every receiver sees it.
	Lossy bool
}

var (
	_ harness.Transport = Dgram{}
	_ harness.Dropper   = Dgram{}
)

// Name implements Transport.
func (t Dgram) Name() string {
	if t.Lossy {
		return "dgram-lossy"
	}
	return "dgram"
}

// Drops implements Dropper.
func (t Dgram) Drops() bool { return t.Lossy }

// Setup implements Transport.
func (t Dgram) Setup(n, payload int) (*harness.Plan, error) {
	return sockSetup(t.Name(), unix.SOCK_DGRAM, n)
}

// OpenSender implements Transport.
func (t Dgram) OpenSender(ep harness.Endpoint) (harness.Sender, error) {
	s, err := openSockSender(ep)
	if err != nil {
		return nil, err
	}
	s.dropWhenFull = t.Lossy
	return s, nil
}

// OpenReceiver implements Transport.
func (Dgram) OpenReceiver(ep harness.Endpoint) (harness.Receiver, error) { return openSockReceiver(ep) }
