package bench

import "golang.org/x/sys/unix"

// SeqPacket is the AF_UNIX SOCK_SEQPACKET baseline: one socketpair per
// receiver, fan-out by one blocking send per receiver per message.
// SeqPacket is stateless and safe for concurrent use.
type SeqPacket struct{}

var _ Transport = SeqPacket{}

// Name implements Transport.
func (SeqPacket) Name() string { return "seqpacket" }

// Setup implements Transport.
func (t SeqPacket) Setup(n, payload int) (*Plan, error) {
	return sockSetup(t.Name(), unix.SOCK_SEQPACKET, n)
}

// OpenSender implements Transport.
func (SeqPacket) OpenSender(ep Endpoint) (Sender, error) { return openSockSender(ep) }

// OpenReceiver implements Transport.
func (SeqPacket) OpenReceiver(ep Endpoint) (Receiver, error) { return openSockReceiver(ep) }
