package netdev

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/songgao/water"
	"golang.org/x/sys/unix"
)

// charDev is a TAP or TUN interface: a /dev/net/tun descriptor, which
// carries one frame per read or write. It is non-blocking and driven by
// Go's poller, so Close ends a read waiting on it.
type charDev struct {
	kind, name string
	f          *os.File
	rc         syscall.RawConn
	vnet       bool // frames come and go after a virtio-net header (offload)
	linkMTU    int  // for segmenting, with vnet

	// The read callbacks and their state, made once so that reads do not
	// allocate: reads are for one goroutine at a time.
	rb     *Batch
	rerr   error
	readFn func(fd uintptr) bool
	rbuf   []byte // TryReadFrame's
	rn     int
	rhdr   [vnetHdrLen]byte
	rv     iovecs
	tryFn  func(fd uintptr) bool
	pfd    [1]unix.PollFd
	waitFn func(fd uintptr) bool

	// The write callback and its state: writes are for one goroutine at a
	// time too.
	whdr    [vnetHdrLen]byte
	whead   [128]byte // a frame's headers, patched for segmentation
	wv      iovecs
	werr    error
	writeFn func(fd uintptr) bool
}

var _ frameDevice = (*charDev)(nil)

var _ Device = (*charDev)(nil)

// NewTAP creates a TAP interface named name, or ipnN (the first free N)
// when name is empty. The kernel checks CAP_NET_ADMIN.
func NewTAP(name string) (Device, error) { return newWater(water.TAP, KindTAP, "ipn", name) }

// NewTUN creates a TUN interface (IP packets, no Ethernet header, for
// layer-3 networks) named name, or ipntunN when name is empty.
func NewTUN(name string) (Device, error) { return newWater(water.TUN, KindTUN, "ipntun", name) }

func newWater(typ water.DeviceType, kind, prefix, name string) (Device, error) {
	if name == "" {
		name = freeName(prefix)
	}
	ifc, err := water.New(water.Config{DeviceType: typ, PlatformSpecificParams: water.PlatformSpecificParams{Name: name}})
	if err != nil {
		return nil, fmt.Errorf("netdev: %s %s: %w", kind, name, err)
	}
	f, ok := ifc.ReadWriteCloser.(*os.File)
	if !ok { // water's Linux interface is a file; anything else is a surprise
		ifc.Close()
		return nil, fmt.Errorf("netdev: %s %s: unexpected %T", kind, name, ifc.ReadWriteCloser)
	}
	return newCharDev(kind, ifc.Name(), f)
}

// newCharDev wraps f, a non-blocking descriptor of /dev/net/tun; it owns f.
func newCharDev(kind, name string, f *os.File) (*charDev, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("netdev: %s %s: %w", kind, name, err)
	}
	d := &charDev{kind: kind, name: name, f: f, rc: rc, linkMTU: defaultLinkMTU}
	d.vnet = hasVnetHdr(control(rc))
	if ifc, err := net.InterfaceByName(name); err == nil && ifc.MTU > 0 {
		d.linkMTU = ifc.MTU
	}
	d.readFn, d.tryFn, d.waitFn, d.writeFn = d.readReady, d.tryRead, d.readable, d.writeReady
	return d, nil
}

func (d *charDev) Name() string { return d.name }
func (d *charDev) Kind() string { return d.kind }
func (d *charDev) FD() int      { return control(d.rc) }

func (d *charDev) Headroom() int {
	if d.vnet {
		return vnetHdrLen
	}
	return 0
}
func (d *charDev) Close() error { return d.f.Close() }

// ReadBatch reads every frame that is ready, waiting for the first.
func (d *charDev) ReadBatch(b *Batch) error {
	b.N, d.rb, d.rerr = 0, b, nil
	if err := d.rc.Read(d.readFn); err != nil {
		return err
	}
	return d.rerr
}

// readReady reads frames until none is ready; it asks the poller to wait
// (returns false) only when it has read nothing.
func (d *charDev) readReady(fd uintptr) bool {
	b := d.rb
	for b.N < len(b.Bufs) {
		n, err := d.readFrame(fd, b.Bufs[b.N][:b.Head], b.Room(b.N))
		if err == unix.EAGAIN {
			return b.N > 0
		}
		if err != nil {
			d.rerr = err
			return true
		}
		b.Lens[b.N] = n
		b.N++
	}
	return true
}

// readFrame reads one frame from fd into buf, and with offload its
// virtio-net header into hdr, completing the frame's checksum. Reads go
// through here, one goroutine at a time.
func (d *charDev) readFrame(fd uintptr, hdr, buf []byte) (int, error) {
	for {
		var n int
		var err error
		if d.vnet {
			d.rv.set2(hdr, buf)
			n, err = d.rv.readv(fd)
		} else {
			n, err = unix.Read(int(fd), buf)
		}
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0: // the other end is gone: no frame is empty
			return 0, io.EOF
		case !d.vnet:
			return n, nil
		case n <= vnetHdrLen:
			continue // a header with no frame: nothing to carry
		}
		n -= vnetHdrLen
		complete(buf[:n], hdr)
		return n, nil
	}
}

// WriteBatch writes the frames one by one: a TUN/TAP descriptor takes one
// frame per write (WriteFrame).
func (d *charDev) WriteBatch(b *Batch) error {
	for i := 0; i < b.N; i++ {
		if err := d.WriteFrame(b.Frame(i)); err != nil && !dropped(err) {
			return err
		}
	}
	return nil
}

// freeName returns prefix followed by the lowest number no interface of
// the caller's namespace has.
func freeName(prefix string) string {
	return FreeName(prefix, func(name string) bool {
		_, err := net.InterfaceByName(name)
		return err == nil
	})
}

// FreeName returns prefix followed by the lowest number N for which
// taken(prefixN) is false: taken says whether the name is in use where the
// interface will live (in its namespace, among the nodes of its network).
func FreeName(prefix string, taken func(name string) bool) string {
	for i := 0; ; i++ {
		n := fmt.Sprintf("%s%d", prefix, i)
		if !taken(n) {
			return n
		}
	}
}

// TryReadFrame reads one frame into b if one is ready: with offload after
// its header, into the device's own, and with its checksum completed.
func (d *charDev) TryReadFrame(b []byte) (int, error) {
	d.rbuf, d.rn, d.rerr = b, 0, nil
	if err := d.rc.Read(d.tryFn); err != nil {
		return 0, err
	}
	return d.rn, d.rerr
}

func (d *charDev) tryRead(fd uintptr) bool {
	d.rn, d.rerr = d.readFrame(fd, d.rhdr[:], d.rbuf) // EAGAIN included: the caller decides to wait
	return true
}

// WaitReadable waits until a frame may be ready to read.
func (d *charDev) WaitReadable() error { return d.rc.Read(d.waitFn) }

// readable looks whether a frame is ready. The poller waits for the next
// one otherwise; a frame that came before this look is seen by it.
func (d *charDev) readable(fd uintptr) bool {
	d.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	n, _ := unix.Poll(d.pfd[:], 0)
	return n != 0
}

// WriteFrame writes one frame. With offload it goes after a header, and a
// long TCP segment's headers go from a copy patched for the kernel to cut
// it: the frame itself may be a slot other nodes read.
func (d *charDev) WriteFrame(frame []byte) error {
	if !d.vnet {
		_, err := d.f.Write(frame)
		return err
	}
	at, sum, ok := segmentPlan(d.whdr[:], frame, d.linkMTU, d.kind == KindTAP)
	switch {
	case !ok:
		return nil // too long, not segmentable: dropped
	case at > 0 && at+2 <= len(d.whead):
		head := d.whead[:at+2]
		copy(head, frame)
		binary.BigEndian.PutUint16(head[at:], sum)
		d.wv.set3(d.whdr[:], head, frame[at+2:])
	case at > 0:
		return nil // headers longer than any TCP/IP stack makes: dropped
	default:
		d.wv.set2(d.whdr[:], frame)
	}
	d.werr = nil
	if err := d.rc.Write(d.writeFn); err != nil {
		return err
	}
	return d.werr
}

func (d *charDev) writeReady(fd uintptr) bool {
	for {
		_, err := d.wv.writev(fd)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return false
		}
		d.werr = err
		return true
	}
}
