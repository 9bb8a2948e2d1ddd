package shm

import (
	"syscall"

	"github.com/ipn-project/ipn/internal/errno"
)

// Sentinel errors, usable with errors.Is against themselves or their errno.
var (
	// ErrForeign reports a segment that is not an ipn segment (bad magic).
	ErrForeign = errno.New("not an ipn segment", syscall.EPROTO)
	// ErrVersion reports an ipn segment of an incompatible layout version.
	ErrVersion = errno.New("ipn segment of another layout version", syscall.EPROTO)
	// ErrDamaged reports a segment whose header or contents are inconsistent.
	ErrDamaged = errno.New("damaged ipn segment", syscall.EBADMSG)
	// ErrGeometry reports geometry values out of range.
	ErrGeometry = errno.New("invalid network geometry", syscall.EINVAL)
	// ErrNoSpace reports that tmpfs has no room for the segment.
	ErrNoSpace = errno.New("no room in shared memory for the segment", syscall.ENOSPC)
)
