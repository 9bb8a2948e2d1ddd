package ipn

import (
	"syscall"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/internal/errno"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
)

// Errors of the client API. Each matches, with errors.Is, both itself and
// the errno IPN's socket calls give in the same case; errors from the
// coordinator carry that errno too.
var (
	ErrAccess        = errno.New("permission denied", syscall.EACCES)
	ErrConnRefused   = errno.New("no live ipn network at this path", syscall.ECONNREFUSED)
	ErrProto         = errno.New("node and network policies differ", syscall.EPROTO)
	ErrAddrNotAvail  = errno.New("no such port free", syscall.EADDRNOTAVAIL)
	ErrIsConn        = errno.New("node already connected", syscall.EISCONN)
	ErrNotConn       = errno.New("node not connected", syscall.ENOTCONN)
	ErrClosed        = errno.New("node closed", syscall.EBADF)
	ErrNoCoordinator = errno.New("no ipn coordinator", syscall.ECONNREFUSED)

	// Data-path errors, shared with packages ring and shm.
	ErrAgain        = ring.ErrAgain        // a send or receive would wait (EAGAIN)
	ErrMsgSize      = ring.ErrMsgSize      // a message longer than the MTU (EMSGSIZE)
	ErrTimeout      = ring.ErrTimeout      // a deadline passed (ETIMEDOUT)
	ErrTruncated    = ring.ErrTruncated    // a message longer than the receive buffer (EMSGSIZE)
	ErrTooManyViews = ring.ErrTooManyViews // too many views or slots held unreleased (ENOBUFS)
	ErrNotWriter    = ring.ErrNotWriter    // a send by a node that may not send (EPIPE)
	ErrNotReader    = ring.ErrNotReader    // a receive by a node that may not receive (ESHUTDOWN)
	ErrDamaged      = shm.ErrDamaged       // the network's shared memory is corrupt (EBADMSG)
	ErrHopLimit     = dispatch.ErrHopLimit // a send past the hop limit, dropped (ELOOP)
)
