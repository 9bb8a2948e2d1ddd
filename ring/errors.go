package ring

import (
	"syscall"

	"github.com/ipn-project/ipn/internal/errno"
)

// Sentinel errors of the data plane, usable with errors.Is against
// themselves or the errno they carry.
var (
	// ErrAgain: nothing to receive, or no room to send, and the caller asked
	// not to wait.
	ErrAgain = errno.New("resource temporarily unavailable: would block", syscall.EAGAIN)
	// ErrMsgSize: a message longer than the network's MTU.
	ErrMsgSize = errno.New("message longer than the network's MTU", syscall.EMSGSIZE)
	// ErrTimeout: the deadline passed while waiting.
	ErrTimeout = errno.New("deadline passed while waiting", syscall.ETIMEDOUT)
	// ErrTruncated: a received message was longer than the buffer; the
	// buffer holds its beginning and the message is consumed.
	ErrTruncated = errno.New("message truncated: receive buffer too small", syscall.EMSGSIZE)
	// ErrTooManyViews: the port already holds as many views, or transmit
	// slots, as the network allows; release some first.
	ErrTooManyViews = errno.New("too many slots held by this port: release some first", syscall.ENOBUFS)
	// ErrPortClosed: the port is not live (closed, or reclaimed).
	ErrPortClosed = errno.New("port is not connected", syscall.ENOTCONN)
	// ErrNotWriter: the port may not send (write permission or shutdown).
	ErrNotWriter = errno.New("port may not send", syscall.EPIPE)
	// ErrNotReader: the port may not receive (read permission or shutdown).
	ErrNotReader = errno.New("port may not receive", syscall.ESHUTDOWN)
	// ErrHopLimit: a send of a message past MaxHops: dropped, and counted
	// in the sender's hop drops, so a forwarder can tell a loop ended from
	// a message sent (ELOOP).
	ErrHopLimit = errno.New("message past the hop limit, dropped", syscall.ELOOP)
	// ErrBusy: a port is in use, or a reclaim could not finish in time.
	ErrBusy = errno.New("port busy", syscall.EBUSY)
)
