package ipn

import "time"

// SetNonblock makes sends and receives fail with ErrAgain instead of
// waiting (MSG_DONTWAIT on every call).
func (n *Node) SetNonblock(on bool) { n.nonblock.Store(on) }

// SetReadDeadline bounds the waits of receives; the zero time removes it.
func (n *Node) SetReadDeadline(t time.Time) { n.rdl.Store(unixNano(t)) }

// SetWriteDeadline bounds the waits of sends.
func (n *Node) SetWriteDeadline(t time.Time) { n.wdl.Store(unixNano(t)) }

// SetDeadline sets both deadlines.
func (n *Node) SetDeadline(t time.Time) { n.SetReadDeadline(t); n.SetWriteDeadline(t) }

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func deadline(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}
