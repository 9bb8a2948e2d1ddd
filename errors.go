package ipn

import (
	"syscall"

	"github.com/ipn-project/ipn/internal/errno"
	"github.com/ipn-project/ipn/ring"
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

	// Data-plane errors, shared with package ring.
	ErrAgain   = ring.ErrAgain
	ErrMsgSize = ring.ErrMsgSize
	ErrTimeout = ring.ErrTimeout
)
