package transport

import (
	"github.com/ipn-project/ipn/bench/harness"
)

import "golang.org/x/sys/unix"

// SeqPacket is the AF_UNIX SOCK_SEQPACKET baseline: one socketpair per
// receiver, fan-out by one blocking send per receiver per message.
// SeqPacket is stateless and safe for concurrent use.
type SeqPacket struct{}

var _ harness.Transport = SeqPacket{}

// Name implements Transport.
func (SeqPacket) Name() string { return "seqpacket" }

// Setup implements Transport.
func (t SeqPacket) Setup(n, payload int) (*harness.Plan, error) {
	return sockSetup(t.Name(), unix.SOCK_SEQPACKET, n)
}

// OpenSender implements Transport.
func (SeqPacket) OpenSender(ep harness.Endpoint) (harness.Sender, error) { return openSockSender(ep) }

// OpenReceiver implements Transport.
func (SeqPacket) OpenReceiver(ep harness.Endpoint) (harness.Receiver, error) {
	return openSockReceiver(ep)
}
