package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edsrzf/mmap-go"
	"golang.org/x/sys/unix"
)

// Dir is where segments are created.
const Dir = "/dev/shm"

// Segment is one network's mapped shared memory. Its accessors are safe for
// concurrent use; Close must be called once, after every user is done.
type Segment struct {
	Geometry Geometry
	Layout   Layout

	mem  mmap.MMap
	file *os.File
}

// Create makes a segment of geometry g in dir (Dir when empty) under name,
// reserves its memory, writes its header and maps it. The file is created
// with mode 0600 and must not exist.
func Create(dir, name string, g Geometry) (seg *Segment, err error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if dir == "" {
		dir = Dir
	}
	if name == "" || filepath.Base(name) != name {
		return nil, fmt.Errorf("shm: create: bad segment name %q", name)
	}
	l := LayoutOf(g)
	path := filepath.Join(dir, name)
	if err := checkRoom(dir, l.Size); err != nil {
		return nil, fmt.Errorf("shm: create %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("shm: create: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(path)
		}
	}()
	// fallocate makes tmpfs hand over every page now: a full /dev/shm
	// fails here with ENOSPC instead of killing a member with SIGBUS later.
	if err := unix.Fallocate(int(f.Fd()), 0, 0, int64(l.Size)); err != nil {
		if errors.Is(err, unix.ENOSPC) {
			return nil, fmt.Errorf("shm: create %s (%d bytes): %w", path, l.Size, ErrNoSpace)
		}
		return nil, fmt.Errorf("shm: create %s: fallocate %d bytes: %w", path, l.Size, err)
	}
	seg, err = mapFile(f, g, l)
	if err != nil {
		return nil, err
	}
	seg.writeHeader()
	ok = true
	return seg, nil
}

// checkRoom reports ErrNoSpace when the file system at dir lacks size bytes.
func checkRoom(dir string, size int) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	if avail := st.Bavail * uint64(st.Bsize); avail < uint64(size) {
		return fmt.Errorf("%w: need %d bytes, %d free", ErrNoSpace, size, avail)
	}
	return nil
}

func mapFile(f *os.File, g Geometry, l Layout) (*Segment, error) {
	m, err := mmap.MapRegion(f, l.Size, mmap.RDWR, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("shm: map %s (%d bytes): %w", f.Name(), l.Size, err)
	}
	return &Segment{Geometry: g, Layout: l, mem: m, file: f}, nil
}

func (s *Segment) writeHeader() {
	g := s.Geometry
	h := s.mem[:HeaderSize]
	le := binary.LittleEndian
	for _, w := range []struct {
		off int
		v   int
	}{
		{OffMTU, g.MTU}, {OffSlots, g.Slots}, {OffPorts, g.Ports}, {OffPool, g.Pool},
		{OffRingCap, g.RingCap}, {OffOOBCap, g.OOBCap}, {OffViews, g.Views},
		{OffTxHolds, g.TxHolds}, {OffPolicy, g.Policy},
	} {
		le.PutUint32(h[w.off:], uint32(w.v))
	}
	le.PutUint32(h[OffFlags:], g.Flags)
	le.PutUint64(h[OffSize:], uint64(s.Layout.Size))
	le.PutUint32(h[OffVersion:], Version)
	// Ring cells start as if the lap before had been consumed (see package ring).
	for p := 0; p < g.Ports; p++ {
		initCells(s, s.Layout.DataRing(p), g.RingCap)
		initCells(s, s.Layout.OOB(p), g.OOBCap)
	}
	s.Uint32(OffNetState).Store(NetLive)
	// The magic goes last: a segment is valid only once it is complete.
	s.Uint64(OffMagic).Store(Magic)
}

// InitialCell is the value of cell i of a new ring of n cells: the cell of
// position i-n, consumed.
func InitialCell(i, n int) uint64 { return uint64(uint32(i-n)) << 32 }

func initCells(s *Segment, ring, n int) {
	for i := 0; i < n; i++ {
		s.Uint64(ring + RingCells + 8*i).Store(InitialCell(i, n))
	}
}

// ReadGeometry decodes and validates the geometry in a segment header.
func ReadGeometry(h []byte) (Geometry, error) {
	if len(h) < HeaderSize {
		return Geometry{}, fmt.Errorf("%w: header of %d bytes, want %d", ErrDamaged, len(h), HeaderSize)
	}
	le := binary.LittleEndian
	if m := le.Uint64(h[OffMagic:]); m != Magic {
		return Geometry{}, fmt.Errorf("%w: magic %#x", ErrForeign, m)
	}
	if v := le.Uint32(h[OffVersion:]); v != Version {
		return Geometry{}, fmt.Errorf("%w: version %d, want %d", ErrVersion, v, Version)
	}
	u := func(off int) int { return int(le.Uint32(h[off:])) }
	g := Geometry{
		MTU: u(OffMTU), Slots: u(OffSlots), Ports: u(OffPorts), Pool: u(OffPool),
		RingCap: u(OffRingCap), OOBCap: u(OffOOBCap), Views: u(OffViews),
		TxHolds: u(OffTxHolds), Policy: u(OffPolicy),
		Flags: le.Uint32(h[OffFlags:]), Reserved: le.Uint32(h[OffReserved:]),
	}
	if err := g.Validate(); err != nil {
		return Geometry{}, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	if size, want := le.Uint64(h[OffSize:]), uint64(LayoutOf(g).Size); size != want {
		return Geometry{}, fmt.Errorf("%w: header says %d bytes, geometry gives %d", ErrDamaged, size, want)
	}
	return g, nil
}

// Attach maps the segment open in f after validating its header and size.
// The segment takes ownership of f.
func Attach(f *os.File) (*Segment, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("shm: attach: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("shm: attach %s: %w: not a regular file", f.Name(), ErrForeign)
	}
	h := make([]byte, HeaderSize)
	if n, err := f.ReadAt(h, 0); n < len(h) {
		return nil, fmt.Errorf("shm: attach %s: %w: short header (%d bytes): %v", f.Name(), ErrDamaged, n, err)
	}
	g, err := ReadGeometry(h)
	if err != nil {
		return nil, fmt.Errorf("shm: attach %s: %w", f.Name(), err)
	}
	l := LayoutOf(g)
	if st.Size() != int64(l.Size) {
		return nil, fmt.Errorf("shm: attach %s: %w: file has %d bytes, geometry needs %d", f.Name(), ErrDamaged, st.Size(), l.Size)
	}
	return mapFile(f, g, l)
}

// Open attaches to the segment file at path.
func Open(path string) (*Segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("shm: open: %w", err)
	}
	s, err := Attach(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// File returns the segment's file, to hand to other processes.
func (s *Segment) File() *os.File { return s.file }

// Bytes returns n mapped bytes at off.
func (s *Segment) Bytes(off, n int) []byte {
	if off < 0 || n < 0 || off+n > len(s.mem) {
		panic(badOffset(off, n, len(s.mem)))
	}
	return s.mem[off : off+n : off+n]
}

// Size is the mapped size in bytes.
func (s *Segment) Size() int { return len(s.mem) }

// Close unmaps the segment and closes its file. The segment must not be
// used afterwards.
func (s *Segment) Close() error {
	err := s.mem.Unmap()
	if cerr := s.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// Remove deletes the segment's file; mappings stay valid until closed.
func (s *Segment) Remove() error { return os.Remove(s.file.Name()) }

func badOffset(off, n, size int) string {
	return fmt.Sprintf("shm: access of %d bytes at offset %d outside segment of %d bytes (or misaligned)", n, off, size)
}
