package bench

import "golang.org/x/sys/unix"

// Dgram is the AF_UNIX SOCK_DGRAM baseline: one socketpair per receiver,
// fan-out by one blocking send per receiver per message. A connected AF_UNIX
// datagram socket blocks its sender when the receiver's queue is full, so
// nothing is dropped. Dgram is stateless and safe for concurrent use.
type Dgram struct{}

var _ Transport = Dgram{}

// Name implements Transport.
func (Dgram) Name() string { return "dgram" }

// Setup implements Transport.
func (t Dgram) Setup(n, payload int) (*Plan, error) {
	return sockSetup(t.Name(), unix.SOCK_DGRAM, n)
}

// OpenSender implements Transport.
func (Dgram) OpenSender(ep Endpoint) (Sender, error) { return openSockSender(ep) }

// OpenReceiver implements Transport.
func (Dgram) OpenReceiver(ep Endpoint) (Receiver, error) { return openSockReceiver(ep) }
