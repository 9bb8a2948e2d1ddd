package transport

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/bench/harness"
)

// The socket baselines fan out over one AF_UNIX socketpair per receiver: the
// sender makes one blocking send per receiver per message, each receiver one
// blocking receive per message. An empty message ends the stream.

// sockSetup makes n socketpairs of type typ: the sender gets one end of
// each, receiver i the other end of pair i.
func sockSetup(name string, typ, n int) (*harness.Plan, error) {
	plan := &harness.Plan{Files: make([][]*os.File, 1+n)}
	ok := false
	defer func() {
		if !ok {
			plan.Close()
		}
	}()
	for i := range n {
		fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("socketpair(AF_UNIX, %d): %w", typ, err)
		}
		plan.Files[0] = append(plan.Files[0], os.NewFile(uintptr(fds[0]), fmt.Sprintf("%s-tx%d", name, i)))
		plan.Files[1+i] = []*os.File{os.NewFile(uintptr(fds[1]), fmt.Sprintf("%s-rx%d", name, i))}
	}
	ok = true
	return plan, nil
}

// sockSender sends every message on each of its sockets in turn.
// One goroutine at a time.
type sockSender struct {
	files []*os.File // keeps the descriptors open
	fds   []int
	// dropWhenFull sends messages without waiting: one that finds a
	// receiver's queue full is not delivered to that receiver.
	dropWhenFull bool
}

func openSockSender(ep harness.Endpoint) (*sockSender, error) {
	if len(ep.Files) != ep.N {
		return nil, fmt.Errorf("got %d sockets, want %d", len(ep.Files), ep.N)
	}
	s := &sockSender{files: ep.Files}
	for _, f := range ep.Files {
		s.fds = append(s.fds, int(f.Fd()))
	}
	return s, nil
}

func (s *sockSender) Send(p []byte) error {
	if len(p) == 0 {
		return errors.New("empty message: it would end the stream")
	}
	for i, fd := range s.fds {
		var err error
		if s.dropWhenFull {
			err = sendOrDrop(fd, p)
		} else {
			err = sendMsg(fd, p)
		}
		if err != nil {
			return fmt.Errorf("socket %d: %w", i, err)
		}
	}
	return nil
}

// sendOrDrop sends p as one message on fd without waiting; a full queue
// drops it.
func sendOrDrop(fd int, p []byte) error {
	for {
		err := unix.Sendto(fd, p, unix.MSG_DONTWAIT, nil)
		switch err {
		case nil, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("send(%d, %d bytes, MSG_DONTWAIT): %w", fd, len(p), err)
	}
}

func (s *sockSender) Close() error {
	var errs []error
	for i, fd := range s.fds {
		if err := sendMsg(fd, nil); err != nil {
			errs = append(errs, fmt.Errorf("end of stream on socket %d: %w", i, err))
		}
	}
	for _, f := range s.files {
		f.Close()
	}
	s.fds = nil
	return errors.Join(errs...)
}

// sendMsg sends p as one message on the blocking socket fd.
func sendMsg(fd int, p []byte) error {
	for {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write(%d, %d bytes): %w", fd, len(p), err)
		}
		if n != len(p) {
			return fmt.Errorf("write(%d, %d bytes): sent %d", fd, len(p), n)
		}
		return nil
	}
}

// sockReceiver receives messages from one blocking socket.
// One goroutine at a time.
type sockReceiver struct {
	file *os.File // keeps the descriptor open
	fd   int
	buf  []byte // one byte more than the largest payload, to catch longer messages
}

func openSockReceiver(ep harness.Endpoint) (*sockReceiver, error) {
	if len(ep.Files) != 1 {
		return nil, fmt.Errorf("got %d sockets, want 1", len(ep.Files))
	}
	f := ep.Files[0]
	return &sockReceiver{file: f, fd: int(f.Fd()), buf: make([]byte, ep.Payload+1)}, nil
}

func (r *sockReceiver) Recv() ([]byte, error) {
	for {
		n, err := unix.Read(r.fd, r.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read(%d): %w", r.fd, err)
		}
		if n == 0 {
			return nil, io.EOF
		}
		if n == len(r.buf) {
			return nil, fmt.Errorf("read(%d): message longer than %d bytes", r.fd, len(r.buf)-1)
		}
		return r.buf[:n], nil
	}
}

func (r *sockReceiver) Close() error { return r.file.Close() }
