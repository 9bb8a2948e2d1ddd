package netdev

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgs is the vector of message headers for one recvmmsg or sendmmsg,
// grown once to the batch's size and then reused, so that moving a batch
// does not allocate. x/sys/unix has the types but no wrappers for these
// calls.
type mmsgs struct {
	hdrs []unix.Mmsghdr
	iovs []unix.Iovec
	n    int // headers in use

	fn   func(fd uintptr) bool // the poller callback, made once
	done int                   // messages the last call moved
	err  error
}

func (m *mmsgs) init(fn func(fd uintptr) bool) { m.fn = fn }

// loadRecv points the headers at every buffer of b, whole.
func (m *mmsgs) loadRecv(b *Batch) {
	m.grow(len(b.Bufs))
	for i, buf := range b.Bufs {
		m.point(i, buf)
	}
	m.n, m.done, m.err = len(b.Bufs), 0, nil
}

// loadSend points the headers at frames first.. of b, up to b.N, each
// after its header room.
func (m *mmsgs) loadSend(b *Batch, first int) {
	m.grow(len(b.Bufs))
	for i := first; i < b.N; i++ {
		m.point(i-first, b.Bufs[i][:b.Head+b.Lens[i]])
	}
	m.n, m.done, m.err = b.N-first, 0, nil
}

func (m *mmsgs) grow(n int) {
	if len(m.hdrs) < n {
		m.hdrs = make([]unix.Mmsghdr, n)
		m.iovs = make([]unix.Iovec, n)
	}
}

func (m *mmsgs) point(i int, buf []byte) {
	m.iovs[i].Base = unsafe.SliceData(buf)
	m.iovs[i].SetLen(len(buf))
	m.hdrs[i] = unix.Mmsghdr{}
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
