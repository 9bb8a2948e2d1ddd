package ipn

import (
	"context"
	"errors"
	"time"
)

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

// ctxErr is the error of a wait bounded by ctx that ended with err, dl
// being the wait's deadline: ctx's own error once ctx is done, and
// context.DeadlineExceeded when the wait timed out at ctx's deadline,
// which the wait can see pass a moment before ctx does.
func ctxErr(ctx context.Context, dl time.Time, err error) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	if d, ok := ctx.Deadline(); ok && errors.Is(err, ErrTimeout) && !d.After(dl) {
		return context.DeadlineExceeded
	}
	return err
}
