package netdev

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// iovecs is a vector for one readv or writev, kept in its device so that
// moving a frame with its virtio-net header does not allocate; x/sys/unix's
// Readv and Writev build their vector anew at every call.
type iovecs struct {
	v [3]unix.Iovec
	n int
}

func (v *iovecs) set(i int, b []byte) {
	v.v[i].Base = unsafe.SliceData(b)
	v.v[i].SetLen(len(b))
}

func (v *iovecs) set2(a, b []byte) { v.set(0, a); v.set(1, b); v.n = 2 }

func (v *iovecs) set3(a, b, c []byte) { v.set(0, a); v.set(1, b); v.set(2, c); v.n = 3 }

func (v *iovecs) call(trap, fd uintptr) (int, error) {
	r, _, e := unix.Syscall(trap, fd, uintptr(unsafe.Pointer(&v.v[0])), uintptr(v.n))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func (v *iovecs) readv(fd uintptr) (int, error)  { return v.call(unix.SYS_READV, fd) }
func (v *iovecs) writev(fd uintptr) (int, error) { return v.call(unix.SYS_WRITEV, fd) }
