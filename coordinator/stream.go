package coordinator

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"time"

	"github.com/ipn-project/ipn/shm"
	"github.com/ipn-project/ipn/wire"
)

// The streaming options of a network (history for late joiners, the stall
// limit) and the stall reports of its senders.

// OOBStalledTag is the tag of the out-of-band notice a receiver gets when
// it is made lossy for itself for keeping a sender waiting past the stall
// limit: {level, tag, sender port, 0} as four little-endian 32-bit
// integers, like the numnodes notice.
const OOBStalledTag = 1

// streamOptions checks a network's history and stall limit and returns
// the limit in milliseconds.
func streamOptions(o wire.Options) (int, error) {
	if o.History < 0 || o.History > shm.MaxHistory {
		return 0, fmt.Errorf("history of %d messages: want 0..%d: %w", o.History, shm.MaxHistory, syscall.EINVAL)
	}
	limit := time.Duration(shm.MaxStallMS) * time.Millisecond
	if o.StallTimeout < 0 || o.StallTimeout > limit {
		return 0, fmt.Errorf("stall timeout %v: want 0..%v: %w", o.StallTimeout, limit, syscall.EINVAL)
	}
	if o.StallTimeout > 0 && !o.Lossless {
		return 0, fmt.Errorf("a stall timeout needs a lossless network (senders never wait on a lossy one): %w", syscall.EINVAL)
	}
	ms := int(o.StallTimeout / time.Millisecond)
	if o.StallTimeout > 0 && ms == 0 {
		ms = 1
	}
	return ms, nil
}

// stall makes receiver req.Port lossy for itself, on the report of m, a
// sender it kept waiting past the stall limit. The coordinator believes
// the report only as far as it can check it in shared memory: the network
// has a stall limit, m is a sender and the receiver a reader, and the
// receiver has not passed everything m published. A sender can therefore
// make lossy only a receiver that is behind on its own log, which is what
// a receiver that stops reading is.
func (m *member) stall(req *wire.Request) (*wire.Response, error) {
	n := m.net
	if n == nil {
		return nil, fmt.Errorf("node not connected: %w", syscall.ENOTCONN)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if m.port < 0 || m.roles&shm.RoleWrite == 0 {
		return nil, fmt.Errorf("only a connected sender reports a stall: %w", syscall.EPERM)
	}
	if n.opts.StallTimeout <= 0 {
		return nil, fmt.Errorf("network %s has no stall timeout: %w", n.path, syscall.EINVAL)
	}
	r := req.Port
	if r < 0 || r >= len(n.ports) || n.ports[r] == nil || n.ports[r].roles&shm.RoleRead == 0 {
		return nil, fmt.Errorf("port %d is not a receiver: %w", r, syscall.EINVAL)
	}
	o := n.ports[r]
	if o.roles&shm.RoleLossy != 0 {
		return &wire.Response{Port: r, Roles: o.roles}, nil
	}
	if n.ring.Behind(r, m.port) == 0 {
		return nil, fmt.Errorf("port %d has read everything port %d sent: %w", r, m.port, syscall.EINVAL)
	}
	o.roles |= shm.RoleLossy
	n.ring.MarkLossy(r)
	n.srv.log.Info("receiver made lossy for itself past the stall limit", "path", n.path,
		"port", r, "pid", o.creds.PID, "sender", m.port, "limit", n.opts.StallTimeout)
	n.noticeStalled(r, m.port)
	return &wire.Response{Port: r, Roles: o.roles}, nil
}

// noticeStalled tells receiver r, out of band, that it is lossy for itself
// from now on because it kept sender s waiting. n.mu must be held.
func (n *network) noticeStalled(r, s int) {
	tx, err := n.notice.TryAlloc()
	if err != nil {
		n.noticeDrops++
		return
	}
	b := tx.Buf[:16]
	binary.LittleEndian.PutUint32(b[0:], 0) // level: IPN_ANY
	binary.LittleEndian.PutUint32(b[4:], OOBStalledTag)
	binary.LittleEndian.PutUint32(b[8:], uint32(s))
	binary.LittleEndian.PutUint32(b[12:], 0)
	n.notice.SubmitOOB(tx, 16, 1<<r)
}
