package netdev

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Kinds of interface node.
const (
	KindTAP  = "tap"
	KindTUN  = "tun"
	KindGrab = "grab"
)

// Device is a kernel network interface that moves frames in batches.
// ReadBatch and WriteBatch may run concurrently; Close ends both.
type Device interface {
	Name() string
	Kind() string
	// ReadBatch waits for a frame, then reads it and every other frame
	// that is ready, up to len(b.Bufs), setting b.N and b.Lens.
	ReadBatch(b *Batch) error
	// WriteBatch sends the first b.N frames of b. A frame the interface
	// refuses because its link is down is dropped, as a switch port that
	// is down drops it.
	WriteBatch(b *Batch) error
	// Headroom is the bytes a batch keeps before each frame for the
	// device's own header.
	Headroom() int
	// FD is the interface's descriptor, to hand to the coordinator; valid
	// until Close.
	FD() int
	Close() error
}

// Batch is a set of frame buffers that a device fills or empties at once.
// Each buffer has Head bytes for the device's header, then room for the
// largest frame.
type Batch struct {
	Bufs [][]byte // header room and frame, each
	Lens []int    // Lens[i] is the length of frame i, header not counted
	N    int      // frames in use
	Head int      // header room before each frame
}

// NewBatch allocates a batch of n buffers for frames of up to size bytes,
// each after head bytes of header room.
func NewBatch(n, size, head int) *Batch {
	b := &Batch{Bufs: make([][]byte, n), Lens: make([]int, n), Head: head}
	size += head
	mem := make([]byte, n*size)
	for i := range b.Bufs {
		b.Bufs[i] = mem[i*size : (i+1)*size : (i+1)*size]
	}
	return b
}

// Frame returns frame i of the batch.
func (b *Batch) Frame(i int) []byte { return b.Bufs[i][b.Head : b.Head+b.Lens[i]] }

// Room returns buffer i's room for a frame.
func (b *Batch) Room(i int) []byte { return b.Bufs[i][b.Head:] }

// dropped reports a write the interface refused for this frame alone: its
// link is down, as a switch port that is down drops frames, or the frame is
// longer than it takes.
func dropped(err error) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENETDOWN) || errors.Is(err, syscall.ENXIO) ||
		errors.Is(err, syscall.EMSGSIZE)
}

// FromFD wraps the descriptor of an interface node of the given kind and
// name, as handed over by the coordinator or by a process, into a Device,
// which owns it from then on (even when FromFD fails).
func FromFD(kind, name string, fd int) (Device, error) {
	if kind != KindTAP && kind != KindTUN && kind != KindGrab {
		unix.Close(fd)
		return nil, fmt.Errorf("netdev: %s: unknown kind %q: %w", name, kind, syscall.EINVAL)
	}
	// Go's poller drives the descriptor only if it is non-blocking when
	// os.NewFile sees it.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netdev: %s %s: %w", kind, name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	if kind == KindGrab {
		return newPacketDev(name, f)
	}
	return newCharDev(kind, name, f)
}

// control returns the descriptor of a pollable file without making it
// blocking, as File.Fd would.
func control(rc syscall.RawConn) int {
	fd := -1
	rc.Control(func(v uintptr) { fd = int(v) })
	return fd
}
