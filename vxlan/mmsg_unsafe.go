package vxlan

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgs is the vector of message headers for one recvmmsg or sendmmsg, each
// with one buffer and a socket address of its own, grown once to a batch's
// size and then reused, so that moving a batch does not allocate.
type mmsgs struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []sockaddr
	n     int // headers in use

	fn   func(fd uintptr) bool // the poller callback, made once
	done int                   // messages the last call moved
	err  error
}

func (m *mmsgs) grow(n int) {
	if len(m.hdrs) < n {
		m.hdrs = make([]unix.Mmsghdr, n)
		m.iovs = make([]unix.Iovec, n)
		m.names = make([]sockaddr, n)
	}
}

// point sets header i to buf and to its address, of nameLen bytes: the
// one to fill on a receive, the one to send to on a send.
func (m *mmsgs) point(i int, buf []byte, nameLen uint32) {
	m.iovs[i].Base = unsafe.SliceData(buf)
	m.iovs[i].SetLen(len(buf))
	m.hdrs[i] = unix.Mmsghdr{}
	m.hdrs[i].Hdr.Name = &m.names[i][0]
	m.hdrs[i].Hdr.Namelen = nameLen
	m.hdrs[i].Hdr.Iov = &m.iovs[i]
	m.hdrs[i].Hdr.SetIovlen(1)
}

// len is the length of message i after a receive.
func (m *mmsgs) len(i int) int { return int(m.hdrs[i].Len) }

// truncated reports whether message i was longer than its buffer.
func (m *mmsgs) truncated(i int) bool { return m.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 }

// call makes the system call trap (recvmmsg or sendmmsg) over the loaded
// headers.
func (m *mmsgs) call(fd uintptr, trap uintptr, flags int) (int, error) {
	r, _, e := unix.Syscall6(trap, fd, uintptr(unsafe.Pointer(&m.hdrs[0])), uintptr(m.n), uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
