package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/bench/harness"
)

// Eventfd is the bare wake-up round trip: each side blocks reading its own
// eventfd through the Go runtime poller (the descriptor is nonblocking, so a
// read parks the goroutine rather than the thread), and a message is a write
// of the peer's eventfd counter. It carries only the 8-byte sequence number
// (MaxPayload), so it is the floor under any transport that wakes its peer
// through an eventfd.
//
// With Blocking set, each side instead blocks its thread in read(2) on a
// blocking eventfd: the difference between the two is what the Go runtime
// poller costs per wake-up. Eventfd is a value, safe for concurrent use.
type Eventfd struct {
	Blocking bool
}

var (
	_ harness.Pair           = Eventfd{}
	_ harness.PayloadLimiter = Eventfd{}
)

// eventfdEOF is the counter value that ends a stream; sequence numbers are
// sent as seq+1, because a zero write would not wake the reader.
const eventfdEOF = 0xfffffffffffffffe

// Name implements Pair.
func (e Eventfd) Name() string {
	if e.Blocking {
		return "eventfd-blocking"
	}
	return "eventfd"
}

// MaxPayload implements PayloadLimiter: the counter holds the sequence number.
func (Eventfd) MaxPayload() int { return harness.SeqSize }

// SetupPair implements Pair: two eventfds, one per direction. Both sides get
// both, in the order (to ponger, to pinger).
func (Eventfd) SetupPair(payload int) (*harness.Plan, error) {
	var files []*os.File
	for _, name := range []string{"eventfd-to-ponger", "eventfd-to-pinger"} {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("eventfd: %w", err)
		}
		files = append(files, os.NewFile(uintptr(fd), name))
	}
	return &harness.Plan{Files: [][]*os.File{files, append([]*os.File(nil), files...)}}, nil
}

// OpenConn implements Pair.
func (e Eventfd) OpenConn(ep harness.Endpoint) (harness.Conn, error) {
	if len(ep.Files) != 2 {
		return nil, fmt.Errorf("got %d eventfds, want 2", len(ep.Files))
	}
	toPonger, toPinger := ep.Files[0], ep.Files[1]
	tx, rx := toPonger, toPinger
	if ep.Index == 1 {
		tx, rx = toPinger, toPonger
	}
	open := pollable
	if e.Blocking {
		open = blocking
	}
	c := &eventfdConn{}
	var err error
	if c.tx, err = open(tx); err != nil {
		return nil, err
	}
	if c.rx, err = open(rx); err != nil {
		c.tx.Close()
		return nil, err
	}
	return c, nil
}

// pollable returns a nonblocking duplicate of f that the Go runtime poller
// manages, so reads park the goroutine.
func pollable(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup %s: %w", f.Name(), err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("nonblock %s: %w", f.Name(), err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// blocking returns a blocking duplicate of f: reads block the thread.
func blocking(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup %s: %w", f.Name(), err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// eventfdConn is one side of an Eventfd pair. One goroutine at a time.
type eventfdConn struct {
	tx, rx *os.File
	wbuf   [8]byte
	rbuf   [8]byte
	msg    [harness.SeqSize]byte
}

func (c *eventfdConn) Send(p []byte) error {
	if len(p) < harness.SeqSize {
		return fmt.Errorf("eventfd: message of %d bytes, want %d", len(p), harness.SeqSize)
	}
	return c.write(harness.Seq(p) + 1)
}

func (c *eventfdConn) write(v uint64) error {
	binary.LittleEndian.PutUint64(c.wbuf[:], v)
	_, err := c.tx.Write(c.wbuf[:])
	return err
}

func (c *eventfdConn) Recv() ([]byte, error) {
	if _, err := io.ReadFull(c.rx, c.rbuf[:]); err != nil {
		return nil, err
	}
	v := binary.LittleEndian.Uint64(c.rbuf[:])
	if v == eventfdEOF {
		return nil, io.EOF
	}
	binary.LittleEndian.PutUint64(c.msg[:], v-1)
	return c.msg[:], nil
}

// Close ends this side's stream: the peer's next Recv returns io.EOF.
func (c *eventfdConn) Close() error {
	err := c.write(eventfdEOF)
	return errors.Join(err, c.tx.Close(), c.rx.Close())
}
