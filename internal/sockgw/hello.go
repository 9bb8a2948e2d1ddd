package sockgw

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn"
)

// The hello, a connection's first message when the gateway asks for one
// (Config.Hello): text lines, the first exactly Magic, each other one
// key=value; empty lines are ignored. Keys:
//
//	descr=TEXT       the node's description, up to ipn.MaxDescr bytes
//	send=wait|drop   in a lossless network with no room: wait for room
//	                 (the gateway stops reading the connection, so the
//	                 peer's sends block in turn) or drop the message
//
// The gateway answers with one message: "IPN-SOCK/1 ok port=N roles=rw
// mtu=M" (roles r, w or rw), or "IPN-SOCK/1 error ERRNO text", after which
// the connection ends. The same error line is the last message of any
// connection the gateway ends for a reason (Refusal).
const (
	Magic = "IPN-SOCK/1"
	// MaxHello bounds a hello.
	MaxHello = 4096
)

// Hello is what a connection asks for.
type Hello struct {
	Descr string
	Drop  bool // send=drop
}

// ErrHello reports a malformed hello.
var ErrHello = errors.New("malformed hello")

// ParseHello reads a hello. Every error wraps ErrHello and EINVAL.
func ParseHello(b []byte) (Hello, error) {
	var h Hello
	fail := func(format string, args ...any) (Hello, error) {
		return Hello{}, fmt.Errorf("%w: %s: %w", ErrHello, fmt.Sprintf(format, args...), syscall.EINVAL)
	}
	if len(b) > MaxHello {
		return fail("%d bytes, at most %d", len(b), MaxHello)
	}
	first, rest, _ := bytes.Cut(b, []byte{'\n'})
	if string(bytes.TrimSuffix(first, []byte{'\r'})) != Magic {
		return fail("the first line is not %s", Magic)
	}
	seen := map[string]bool{}
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		k, v, ok := strings.Cut(string(line), "=")
		if !ok {
			return fail("line %q is not key=value", clip(line))
		}
		if seen[k] {
			return fail("%s given twice", clip([]byte(k)))
		}
		seen[k] = true
		switch k {
		case "descr":
			if len(v) > ipn.MaxDescr {
				return fail("descr of %d bytes, at most %d", len(v), ipn.MaxDescr)
			}
			h.Descr = v
		case "send":
			switch v {
			case "wait":
				h.Drop = false
			case "drop":
				h.Drop = true
			default:
				return fail("send=%s: want wait or drop", clip([]byte(v)))
			}
		default:
			return fail("unknown key %q", clip([]byte(k)))
		}
	}
	return h, nil
}

func clip(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "..."
	}
	return string(b)
}

// Welcome is the answer to a hello that joined: the node's port, roles and
// the network's MTU.
func Welcome(port int, read, write bool, mtu int) []byte {
	return fmt.Appendf(nil, "%s ok port=%d roles=%s mtu=%d", Magic, port, roleLetters(read, write), mtu)
}

func roleLetters(read, write bool) string {
	s := ""
	if read {
		s += "r"
	}
	if write {
		s += "w"
	}
	return s
}

// Refusal is the last message of a connection the gateway ends or refuses
// because of err: Magic, "error", err's errno by name (EIO when it has
// none) and err's text.
func Refusal(err error) []byte {
	name := "EIO"
	var e syscall.Errno
	if errors.As(err, &e) {
		if n := unix.ErrnoName(e); n != "" {
			name = n
		} else {
			name = strconv.Itoa(int(e))
		}
	}
	return fmt.Appendf(nil, "%s error %s %v", Magic, name, err)
}
