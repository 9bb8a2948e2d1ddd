// Package fdpass moves file descriptors between processes over a unix
// socket with SCM_RIGHTS, together with a small message.
//
// Passing descriptors this way, rather than through exec's inherited files,
// leaves their file status flags alone: os/exec switches the descriptors it
// passes to blocking mode, which would break every other process that waits
// on the same eventfd through Go's poller.
package fdpass

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// MaxFDs is the most descriptors one message carries.
const MaxFDs = 250

// ErrTruncated reports a message longer than the buffer, or with more
// descriptors than MaxFDs; the descriptors are closed. When only the
// descriptors were cut, as the kernel does when the receiving process is
// out of descriptors, the error also wraps EMFILE.
var ErrTruncated = errors.New("fdpass: message truncated")

// Send writes msg with fds attached.
func Send(c *net.UnixConn, msg []byte, fds ...int) error {
	if len(fds) > MaxFDs {
		return fmt.Errorf("fdpass: %d descriptors, at most %d", len(fds), MaxFDs)
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	n, oobn, err := c.WriteMsgUnix(msg, oob, nil)
	if err != nil {
		return fmt.Errorf("fdpass: send: %w", err)
	}
	if n != len(msg) || oobn != len(oob) {
		return fmt.Errorf("fdpass: short send: %d/%d bytes, %d/%d control", n, len(msg), oobn, len(oob))
	}
	return nil
}

// Recv reads one message into buf and returns its length and the
// descriptors that came with it, each close-on-exec.
func Recv(c *net.UnixConn, buf []byte) (int, []int, error) {
	oob := make([]byte, unix.CmsgSpace(4*MaxFDs))
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return 0, nil, fmt.Errorf("fdpass: recv: %w", err)
	}
	var fds []int
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return 0, nil, fmt.Errorf("fdpass: control message: %w", err)
		}
		for _, m := range msgs {
			got, err := unix.ParseUnixRights(&m)
			if err != nil {
				closeAll(fds)
				return 0, nil, fmt.Errorf("fdpass: rights: %w", err)
			}
			fds = append(fds, got...)
		}
	}
	if flags&unix.MSG_CTRUNC != 0 && flags&unix.MSG_TRUNC == 0 {
		// The buffer has room for MaxFDs: the kernel drops descriptors
		// when this process has no room for them.
		closeAll(fds)
		return 0, nil, fmt.Errorf("%w: descriptors dropped: this process has no room for them, or more than %d came (flags %#x): %w", ErrTruncated, MaxFDs, flags, unix.EMFILE)
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		closeAll(fds)
		return 0, nil, fmt.Errorf("%w (flags %#x)", ErrTruncated, flags)
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
	return n, fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// ConnFromFile turns an inherited socket into a UnixConn.
func ConnFromFile(f *os.File) (*net.UnixConn, error) {
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("fdpass: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("fdpass: %s is not a unix socket", f.Name())
	}
	return uc, nil
}

// Pair returns a connected pair of unix stream sockets: one as a
// UnixConn for this process, one as a File to give a child.
func Pair() (*net.UnixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("fdpass: socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "fdpass")
	defer mine.Close()
	c, err := ConnFromFile(mine)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	return c, os.NewFile(uintptr(fds[1]), "fdpass-child"), nil
}
