package transport

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/ebitengine/purego"
)

// libzmq, loaded at run time with purego rather than linked with cgo, so
// that the module builds on machines without libzmq and the ZMQ transport
// says it is skipped there. Calls go through purego.SyscallN with pointers
// converted in the call expression itself (unsafe.Pointer rule 4); the
// buffers are the caller's long-lived heap slices, so a message costs no
// allocation.

// zmqLibNames are tried in order.
var zmqLibNames = []string{"libzmq.so.5", "libzmq.so"}

// zmqLib holds libzmq's entry points. Safe for concurrent use after
// loadZMQ (libzmq's sockets are not: one goroutine per socket).
type zmqLib struct {
	ctxNew, ctxTerm, socket, close, setsockopt, getsockopt uintptr
	bind, connect, send, recv, errno                       uintptr
}

var zmqLoad struct {
	once sync.Once
	lib  *zmqLib
	err  error
}

// loadZMQ opens libzmq once per process.
func loadZMQ() (*zmqLib, error) {
	zmqLoad.once.Do(func() {
		var h uintptr
		var err error
		for _, name := range zmqLibNames {
			if h, err = purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
				break
			}
		}
		if err != nil {
			zmqLoad.err = fmt.Errorf("libzmq not loadable (install Debian's libzmq5): %w", err)
			return
		}
		z := &zmqLib{}
		for _, sym := range []struct {
			name string
			fn   *uintptr
		}{
			{"zmq_ctx_new", &z.ctxNew}, {"zmq_ctx_term", &z.ctxTerm}, {"zmq_socket", &z.socket},
			{"zmq_close", &z.close}, {"zmq_setsockopt", &z.setsockopt}, {"zmq_getsockopt", &z.getsockopt},
			{"zmq_bind", &z.bind}, {"zmq_connect", &z.connect}, {"zmq_send", &z.send},
			{"zmq_recv", &z.recv}, {"zmq_errno", &z.errno},
		} {
			if *sym.fn, err = purego.Dlsym(h, sym.name); err != nil {
				zmqLoad.err = fmt.Errorf("libzmq lacks %s: %w", sym.name, err)
				return
			}
		}
		zmqLoad.lib = z
	})
	return zmqLoad.lib, zmqLoad.err
}

// zmqError is libzmq's errno with its message.
type zmqError struct {
	op   string
	code int
	msg  string
}

func (e *zmqError) Error() string { return fmt.Sprintf("%s: %s (errno %d)", e.op, e.msg, e.code) }

// lastError reads zmq_errno after a failed call named op. libzmq's own
// codes (ETERM and the like, from zmqHausnumero on) are named by number;
// the rest are the system's errno values.
func (z *zmqLib) lastError(op string) *zmqError {
	code, _, _ := purego.SyscallN(z.errno)
	c := int(int32(code))
	msg := fmt.Sprintf("libzmq error %d", c)
	if c < zmqHausnumero {
		msg = syscall.Errno(c).Error()
	}
	return &zmqError{op: op, code: c, msg: msg}
}

func (z *zmqLib) newContext() (uintptr, error) {
	ctx, _, _ := purego.SyscallN(z.ctxNew)
	if ctx == 0 {
		return 0, z.lastError("zmq_ctx_new")
	}
	return ctx, nil
}

// term ends ctx; it waits for its sockets' linger.
func (z *zmqLib) term(ctx uintptr) error {
	for {
		r, _, _ := purego.SyscallN(z.ctxTerm, ctx)
		if int32(r) == 0 {
			return nil
		}
		if e := z.lastError("zmq_ctx_term"); e.code != zmqEINTR {
			return e
		}
	}
}

func (z *zmqLib) newSocket(ctx uintptr, typ int) (uintptr, error) {
	s, _, _ := purego.SyscallN(z.socket, ctx, uintptr(typ))
	if s == 0 {
		return 0, z.lastError(fmt.Sprintf("zmq_socket(%d)", typ))
	}
	return s, nil
}

func (z *zmqLib) closeSocket(s uintptr) error {
	if r, _, _ := purego.SyscallN(z.close, s); int32(r) != 0 {
		return z.lastError("zmq_close")
	}
	return nil
}

// setInt sets an int option.
func (z *zmqLib) setInt(s uintptr, opt, v int) error {
	x := new(int32)
	*x = int32(v)
	r, _, _ := purego.SyscallN(z.setsockopt, s, uintptr(opt), uintptr(unsafe.Pointer(x)), 4)
	if int32(r) != 0 {
		return z.lastError(fmt.Sprintf("zmq_setsockopt(%d, %d)", opt, v))
	}
	return nil
}

// setBytes sets a binary option (b may be empty).
func (z *zmqLib) setBytes(s uintptr, opt int, b []byte) error {
	buf := append(make([]byte, 0, len(b)+1), b...)[:len(b)+1] // never a nil pointer
	r, _, _ := purego.SyscallN(z.setsockopt, s, uintptr(opt), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(b)))
	if int32(r) != 0 {
		return z.lastError(fmt.Sprintf("zmq_setsockopt(%d, %q)", opt, b))
	}
	return nil
}

// endpointCall calls bind or connect with a C string.
func (z *zmqLib) endpointCall(fn uintptr, op string, s uintptr, endpoint string) error {
	c := append([]byte(endpoint), 0)
	r, _, _ := purego.SyscallN(fn, s, uintptr(unsafe.Pointer(&c[0])))
	if int32(r) != 0 {
		return z.lastError(fmt.Sprintf("%s(%s)", op, endpoint))
	}
	return nil
}

func (z *zmqLib) bindTo(s uintptr, endpoint string) error {
	return z.endpointCall(z.bind, "zmq_bind", s, endpoint)
}

func (z *zmqLib) connectTo(s uintptr, endpoint string) error {
	return z.endpointCall(z.connect, "zmq_connect", s, endpoint)
}

// zmqNoData stands in for the buffer of an empty message: libzmq takes a
// pointer it does not read for a length of 0.
var zmqNoData [1]byte

// The per-message calls pass their arguments in the socket's own scratch
// slice: SyscallN's variadic arguments would escape to the heap (it is
// go:uintptrescapes), one allocation per call. The buffer's address is
// taken just before the call and the buffer kept alive across it.

// sendMsg sends p as one message, retrying on EINTR (Go's preemption
// signals interrupt libzmq's waits).
func (k *zmqSocket) sendMsg(p []byte, flags int) error {
	// errno is the thread's: read it on the thread that made the call.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := p
	if len(buf) == 0 {
		buf = zmqNoData[:]
	}
	a := k.args[:4]
	for {
		a[0], a[1], a[2], a[3] = k.s, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(p)), uintptr(flags)
		r, _, _ := purego.SyscallN(k.z.send, a...)
		runtime.KeepAlive(buf)
		if int32(r) >= 0 {
			return nil
		}
		if e := k.z.lastError("zmq_send"); e.code != zmqEINTR {
			return e
		}
	}
}

// recvMsg receives one message into p and returns its full length, which
// exceeds len(p) when libzmq truncated it. p must not be empty.
func (k *zmqSocket) recvMsg(p []byte, flags int) (int, error) {
	runtime.LockOSThread() // errno is the thread's, as in sendMsg
	defer runtime.UnlockOSThread()
	a := k.args[:4]
	for {
		a[0], a[1], a[2], a[3] = k.s, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags)
		r, _, _ := purego.SyscallN(k.z.recv, a...)
		runtime.KeepAlive(p)
		if n := int32(r); n >= 0 {
			return int(n), nil
		}
		if e := k.z.lastError("zmq_recv"); e.code != zmqEINTR {
			return 0, e
		}
	}
}
