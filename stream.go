package ipn

import (
	"fmt"
	"syscall"
	"time"

	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
	"github.com/ipn-project/ipn/wire"
)

// Streaming: one producer, many consumers that come and go. Three options
// serve it on a lossless network, beside IPN's own:
//   - SetDropWhenBehind: a receiver lossy for itself, that senders leave
//     out (counting a drop against it) when it has Pool messages pending
//     instead of waiting for it; every other receiver stays lossless.
//   - SetStallTimeout: a receiver that keeps a sender waiting longer is
//     made lossy for itself, and told with an out-of-band notice
//     (OOBStalledTag).
//   - SetHistory: the last N messages of each sender stay referenced, and
//     a receiver that joins gets them first, then the live stream.

// OOBStalledTag is the tag of the out-of-band notice a receiver gets when
// a sender waited for it past the stall limit and it became lossy for
// itself: {level, tag, sender port, 0}, four little-endian 32-bit words.
const OOBStalledTag = 1

// SetDropWhenBehind makes the node, as a receiver, lossy for itself on a
// lossless network, before Connect: senders do not wait for it, they leave
// it out of a message (a drop counted against it) when it already has the
// network's pool of messages pending from them. The choice is recorded by
// the coordinator at join, where senders read it. On a lossy network every
// receiver is so already.
func (n *Node) SetDropWhenBehind(on bool) error {
	return n.setNodeOpt(func() error { n.lossy = on; return nil })
}

// SetHistory keeps the last k messages of each sender referenced for
// receivers that join later, before Bind: a receiver that joins gets them
// first, then the live stream, in order. Each sender's pool has k slots
// more; 0 keeps none.
func (n *Node) SetHistory(k int) error {
	return n.setOpt(func() error {
		if k < 0 || k > shm.MaxHistory {
			return fmt.Errorf("ipn: history of %d messages: want 0..%d: %w", k, shm.MaxHistory, syscall.EINVAL)
		}
		n.opts.History = k
		return nil
	})
}

// SetStallTimeout sets the stall limit of a lossless network, before Bind:
// a receiver that keeps a sender waiting longer than d is made lossy for
// itself from then on, so that a live stream goes on without it. 0 keeps
// IPN's rule (senders wait for every receiver).
func (n *Node) SetStallTimeout(d time.Duration) error {
	return n.setOpt(func() error {
		if d < 0 || d > time.Duration(shm.MaxStallMS)*time.Millisecond {
			return fmt.Errorf("ipn: stall timeout %v out of range: %w", d, syscall.EINVAL)
		}
		n.opts.StallTimeout = d
		return nil
	})
}

// SendStats are what a node's sends counted: messages and bytes sent,
// messages left out for a recipient (once per recipient), sends that found
// no room and the time they waited for it.
type SendStats = ring.SendStats

// SendStats reads the node's send counters.
func (n *Node) SendStats() (SendStats, error) {
	c, err := n.data()
	if err != nil {
		return SendStats{}, err
	}
	defer n.ops.RUnlock()
	return c.port.SendStats(), nil
}

// stallReporter asks the coordinator to make receiver r lossy for itself:
// one of this node's sends waited for it past the stall limit. It does not
// wait for the node's lock: when the node is busy with a request, the
// sender asks again later.
func (n *Node) stallReporter() func(r int) bool {
	return func(r int) bool {
		if !n.mu.TryLock() {
			return false
		}
		defer n.mu.Unlock()
		if n.ctl == nil || n.closed {
			return true // nobody to tell: the sender waits, as IPN's rule says
		}
		if _, _, err := call(n.ctl, &wire.Request{Op: wire.OpStall, Port: r}); err != nil {
			return true // refused: asking again would be refused again
		}
		return true
	}
}
