package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/edsrzf/mmap-go"
	"golang.org/x/sys/unix"
)

// Seals every object carries before a descriptor of it leaves the
// coordinator: nobody, whatever its uid or descriptor, can change its size.
const Seals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// Object is one mapped memory object of a network. Its accessors are safe
// for concurrent use; Close must be called once, after every user is done.
type Object struct {
	Kind     uint32
	writable bool
	mem      mmap.MMap
	file     *os.File
}

// Create makes a memory object of kind and size bytes: a memfd of mode
// 0600, its memory reserved, sealed against any change of size, with its
// header written, mapped read-write if writable and read-only otherwise
// (its creator may still hand out the read-write descriptor, FD). name
// shows in /proc/PID/maps.
func Create(name string, kind uint32, size int, port int, gen uint32, netID uint64, writable bool) (*Object, error) {
	if size < HeaderSize || size > 1<<40 {
		return nil, fmt.Errorf("shm: create %s: %w: size %d", name, ErrGeometry, size)
	}
	fd, err := unix.MemfdCreate("ipn-"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("shm: memfd_create %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "ipn-"+name)
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	// Mode 0600: a read-only descriptor of it cannot be reopened
	// read-write through /proc/self/fd by another uid.
	if err := unix.Fchmod(fd, 0o600); err != nil {
		return nil, fmt.Errorf("shm: create %s: fchmod: %w", name, err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return nil, fmt.Errorf("shm: create %s: ftruncate %d bytes: %w", name, size, err)
	}
	// fallocate makes the kernel hand over every page now: no room is
	// reported here instead of killing a member with SIGBUS later.
	if err := unix.Fallocate(fd, 0, 0, int64(size)); err != nil {
		if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.ENOMEM) {
			return nil, fmt.Errorf("shm: create %s (%d bytes): %w: %w", name, size, ErrNoSpace, err)
		}
		return nil, fmt.Errorf("shm: create %s: fallocate %d bytes: %w", name, size, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, Seals); err != nil {
		return nil, fmt.Errorf("shm: create %s: seal: %w", name, err)
	}
	m, err := mmap.MapRegion(f, size, mmap.RDWR, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("shm: map %s (%d bytes): %w", name, size, err)
	}
	o := &Object{Kind: kind, writable: true, mem: m, file: f}
	le := binary.LittleEndian
	h := o.mem[:HeaderSize]
	le.PutUint32(h[OffVersion:], Version)
	le.PutUint32(h[OffKind:], kind)
	le.PutUint32(h[OffPort:], uint32(port))
	le.PutUint32(h[OffGen:], gen)
	le.PutUint64(h[OffSize:], uint64(size))
	le.PutUint64(h[OffNetID:], netID)
	o.Uint64(OffMagic).Store(Magic)
	if !writable {
		if err := unix.Mprotect(m, unix.PROT_READ); err != nil {
			m.Unmap()
			return nil, fmt.Errorf("shm: create %s: mprotect: %w", name, err)
		}
		o.writable = false
	}
	ok = true
	return o, nil
}

// ReadOnlyFD opens a new read-only descriptor of the object, to hand to a
// member that must not write it. The caller closes it.
func (o *Object) ReadOnlyFD() (int, error) {
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", o.file.Fd()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("shm: read-only descriptor of %s: %w", o.file.Name(), err)
	}
	return fd, nil
}

// FD returns the object's own descriptor (read-write for its creator).
func (o *Object) FD() int { return int(o.file.Fd()) }

// Writable reports whether the object is mapped read-write.
func (o *Object) Writable() bool { return o.writable }

// Expect is what a member knows of an object before it maps it.
type Expect struct {
	Kind     uint32
	Writable bool   // the descriptor must be read-write (else read-only)
	Size     int    // 0: take it from the header (the control object)
	Port     int    // for tx and rx objects
	Gen      uint32 // for tx and rx objects
	NetID    uint64 // 0: take it from the header (the control object)
}

// Attach validates the object open in fd against what the member expects,
// then maps it, read-write only if it must write it. It checks the seals,
// the descriptor's access mode, the size, and the header. The object takes
// ownership of fd, also on error.
func Attach(fd int, want Expect) (*Object, error) {
	f := os.NewFile(uintptr(fd), "ipn-object")
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("shm: attach object of kind %d: %w: "+format, append([]any{want.Kind, ErrForeign}, args...)...)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("shm: attach: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, bad("not a regular file (mode %#o)", st.Mode)
	}
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil {
		return nil, bad("no seals (not a memfd): %v", err)
	}
	if seals&(unix.F_SEAL_SHRINK|unix.F_SEAL_GROW) != unix.F_SEAL_SHRINK|unix.F_SEAL_GROW {
		return nil, bad("seals %#x lack shrink and grow", seals)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, fmt.Errorf("shm: attach: F_GETFL: %w", err)
	}
	mode := fl & unix.O_ACCMODE
	if want.Writable && mode != unix.O_RDWR || !want.Writable && mode != unix.O_RDONLY {
		return nil, bad("descriptor access mode %#o, want %s", mode, map[bool]string{true: "read-write", false: "read-only"}[want.Writable])
	}
	h := make([]byte, HeaderSize)
	if n, err := unix.Pread(fd, h, 0); n < len(h) {
		return nil, fmt.Errorf("shm: attach: %w: short header (%d bytes): %v", ErrDamaged, n, err)
	}
	le := binary.LittleEndian
	if m := le.Uint64(h[OffMagic:]); m != Magic {
		return nil, bad("magic %#x", m)
	}
	if v := le.Uint32(h[OffVersion:]); v != Version {
		return nil, fmt.Errorf("shm: attach: %w: version %d, want %d", ErrVersion, v, Version)
	}
	if k := le.Uint32(h[OffKind:]); k != want.Kind {
		return nil, bad("kind %d", k)
	}
	size := int64(le.Uint64(h[OffSize:]))
	if want.Size != 0 && size != int64(want.Size) || size != st.Size || size < HeaderSize || size > 1<<40 {
		return nil, fmt.Errorf("shm: attach: %w: %d bytes, header says %d, want %d", ErrDamaged, st.Size, size, want.Size)
	}
	if want.NetID != 0 && le.Uint64(h[OffNetID:]) != want.NetID {
		return nil, bad("of another network")
	}
	if want.Kind == KindTx || want.Kind == KindRx {
		if p, g := le.Uint32(h[OffPort:]), le.Uint32(h[OffGen:]); int(p) != want.Port || g != want.Gen {
			return nil, bad("port %d generation %d, want port %d generation %d", p, g, want.Port, want.Gen)
		}
	}
	prot := mmap.RDONLY
	if want.Writable {
		prot = mmap.RDWR
	}
	m, err := mmap.MapRegion(f, int(size), prot, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("shm: map object of kind %d (%d bytes): %w", want.Kind, size, err)
	}
	ok = true
	return &Object{Kind: want.Kind, writable: want.Writable, mem: m, file: f}, nil
}

// NetID returns the network id written in the object's header.
func (o *Object) NetID() uint64 { return binary.LittleEndian.Uint64(o.mem[OffNetID:]) }

// CloseFD closes the object's descriptor and keeps the mapping: a member
// does not keep descriptors it does not need.
func (o *Object) CloseFD() error {
	if o.file == nil {
		return nil
	}
	err := o.file.Close()
	o.file = nil
	return err
}

// Bytes returns n mapped bytes at off.
func (o *Object) Bytes(off, n int) []byte {
	if off < 0 || n < 0 || off+n > len(o.mem) {
		panic(badOffset(off, n, len(o.mem)))
	}
	return o.mem[off : off+n : off+n]
}

// Size is the mapped size in bytes.
func (o *Object) Size() int { return len(o.mem) }

// Close unmaps the object and closes its descriptor if still open. The
// object must not be used afterwards.
func (o *Object) Close() error {
	err := o.mem.Unmap()
	if cerr := o.CloseFD(); err == nil {
		err = cerr
	}
	return err
}

func badOffset(off, n, size int) string {
	return fmt.Sprintf("shm: access of %d bytes at offset %d outside object of %d bytes (or misaligned)", n, off, size)
}
