package shmring

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/bench/harness"
)

// ShmRing is the bare single-producer shared-memory broadcast ring, the
// machine's limit for fan-out: one memfd mapping with fixed slots (layout in
// shmring_layout.go), a producer index and one consumer index per receiver
// on their own cache lines. The producer writes each message once; it waits
// (spin, then yield) while the slowest consumer is a full ring behind.
// Consumers read the slot in place and spin or yield while the ring is empty.
// No eventfds, no reference counts: it is the lower bound, paid for with
// busy CPUs.
//
// The ring lives in a memfd rather than a file on /dev/shm: it needs no
// name, leaves nothing behind, and is not bounded by /dev/shm's size (its
// slots take at most 16 MiB unless a payload is larger than 2 MiB).
// ShmRing is stateless and safe for concurrent use.
type ShmRing struct{}

var _ harness.Transport = ShmRing{}

// Name implements Transport.
func (ShmRing) Name() string { return "shmring" }

// Setup implements Transport: it creates and sizes the memfd and writes the
// header. Every child inherits the same descriptor.
func (t ShmRing) Setup(n, payload int) (*harness.Plan, error) {
	l, err := NewRingLayout(n, payload)
	if err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate("ipnbench-"+t.Name(), unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "ipnbench-"+t.Name())
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	if err := unix.Ftruncate(fd, int64(l.size())); err != nil {
		return nil, fmt.Errorf("ftruncate(memfd, %d): %w", l.size(), err)
	}
	mem, err := unix.Mmap(fd, 0, int(l.size()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap(memfd, %d): %w", l.size(), err)
	}
	l.write(mem)
	if err := unix.Munmap(mem); err != nil {
		return nil, fmt.Errorf("munmap: %w", err)
	}
	files := make([][]*os.File, 1+n)
	for i := range files {
		files[i] = []*os.File{f}
	}
	ok = true
	return &harness.Plan{Files: files}, nil
}

// OpenSender implements Transport.
func (ShmRing) OpenSender(ep harness.Endpoint) (harness.Sender, error) {
	mem, l, err := mapRing(ep)
	if err != nil {
		return nil, err
	}
	tx, err := newRingTx(mem, l)
	if err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	return tx, nil
}

// OpenReceiver implements Transport.
func (ShmRing) OpenReceiver(ep harness.Endpoint) (harness.Receiver, error) {
	mem, l, err := mapRing(ep)
	if err != nil {
		return nil, err
	}
	rx, err := newRingRx(mem, l, ep.Index)
	if err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	return rx, nil
}

// mapRing maps the ring whose memfd is ep.Files[0] and checks its header.
func mapRing(ep harness.Endpoint) ([]byte, ringLayout, error) {
	if len(ep.Files) != 1 {
		return nil, ringLayout{}, fmt.Errorf("got %d files, want 1 memfd", len(ep.Files))
	}
	fd := int(ep.Files[0].Fd())
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, ringLayout{}, fmt.Errorf("fstat(memfd): %w", err)
	}
	if st.Size < offTails || st.Size > ringMaxMapping {
		return nil, ringLayout{}, fmt.Errorf("%w: memfd of %d bytes", errDamaged, st.Size)
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, ringLayout{}, fmt.Errorf("mmap(memfd, %d): %w", st.Size, err)
	}
	l, err := readRingLayout(mem)
	if err != nil {
		unix.Munmap(mem)
		return nil, ringLayout{}, err
	}
	return mem, l, nil
}
