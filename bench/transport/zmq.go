package transport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ipn-project/ipn/bench/harness"
)

// ZMQ is ZeroMQ publish/subscribe over ipc:// (Debian's libzmq, loaded at
// run time: see zmq_unsafe.go) as a fan-out transport. The sender binds an
// XPUB socket, every receiver connects a SUB socket subscribed to
// everything; an empty message ends the stream.
//
// Back-pressure: a plain PUB socket drops a message for a subscriber whose
// queue is at its high-water mark. Lossless, the sender uses XPUB with
// ZMQ_XPUB_NODROP, whose send waits instead while any subscriber's queue is
// full, as a blocking socket does. Lossy, it leaves NODROP off: PUB's
// behaviour. The end of stream is repeated until every subscriber has left
// (see zmqSender.Close).
//
// Slow joiners: a subscriber that connects after the first messages misses
// them. XPUB (with ZMQ_XPUB_VERBOSE, so that identical subscriptions are
// all passed up) hands the sender one subscription message per subscriber;
// OpenSender returns, and the sender says it is ready, only once it has
// seen all of them.
//
// Buffering: ZMQ_SNDHWM and ZMQ_RCVHWM are each half the slots of ipn's
// ring for the same payload (ipnPool), so that the messages zmq queues per
// subscriber match what ipn queues per receiver (kernel socket buffers
// come on top, to zmq's advantage). ZMQ is stateless and safe for
// concurrent use.
type ZMQ struct {
	// Lossy drops messages for subscribers at their high-water mark.
	Lossy bool
}

var (
	_ harness.Transport = ZMQ{}
	_ harness.Prober    = ZMQ{}
	_ harness.Dropper   = ZMQ{}
)

// Name implements Transport.
func (t ZMQ) Name() string {
	if t.Lossy {
		return "zmq-lossy"
	}
	return "zmq"
}

// Available implements Prober: it needs libzmq.
func (ZMQ) Available() error {
	_, err := loadZMQ()
	return err
}

// Drops implements Dropper.
func (t ZMQ) Drops() bool { return t.Lossy }

type zmqConfig struct {
	Endpoint string `json:"endpoint"`
	HWM      int    `json:"hwm"` // ZMQ_SNDHWM and ZMQ_RCVHWM
}

// ZmqHWM is the high-water mark of each side: half of ipn's ring.
func ZmqHWM(n, payload int) int { return max(1, ipnPool(n, payload)/2) }

// zmqJoinTimeout bounds the sender's wait for its subscribers.
const zmqJoinTimeout = 30 * time.Second

// The end of stream: how often the sender repeats it, and how long it
// waits for every subscriber to leave.
const (
	zmqEndGap     = time.Millisecond
	zmqEndTimeout = 30 * time.Second
)

// zmqReconnect is how often a subscriber retries connecting before the
// sender has bound (libzmq's default is 100 ms).
const zmqReconnect = 5 * time.Millisecond

// Setup implements Transport: a directory for the ipc:// endpoint.
func (t ZMQ) Setup(n, payload int) (*harness.Plan, error) {
	if err := t.Available(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ipnbench-zmq-")
	if err != nil {
		return nil, err
	}
	cfg, _ := json.Marshal(zmqConfig{Endpoint: "ipc://" + filepath.Join(dir, "pub"), HWM: ZmqHWM(n, payload)})
	return &harness.Plan{
		Config:  string(cfg),
		Files:   make([][]*os.File, 1+n),
		Cleanup: func() { os.RemoveAll(dir) },
	}, nil
}

// zmqSocket is one socket in a context of its own. One goroutine at a time.
type zmqSocket struct {
	z        *zmqLib
	ctx, s   uintptr
	cfg      zmqConfig
	isClosed bool
	args     [4]uintptr // scratch arguments of sendMsg and recvMsg
}

func openZMQSocket(ep harness.Endpoint, typ int) (*zmqSocket, error) {
	z, err := loadZMQ()
	if err != nil {
		return nil, err
	}
	var cfg zmqConfig
	if err := json.Unmarshal([]byte(ep.Config), &cfg); err != nil {
		return nil, fmt.Errorf("zmq: config: %w", err)
	}
	ctx, err := z.newContext()
	if err != nil {
		return nil, err
	}
	s, err := z.newSocket(ctx, typ)
	if err != nil {
		z.term(ctx)
		return nil, err
	}
	return &zmqSocket{z: z, ctx: ctx, s: s, cfg: cfg}, nil
}

// close closes the socket with the given linger (ms; -1 waits until every
// queued message is delivered) and ends its context.
func (k *zmqSocket) close(linger int) error {
	if k.isClosed {
		return nil
	}
	k.isClosed = true
	return errors.Join(k.z.setInt(k.s, zmqLINGER, linger), k.z.closeSocket(k.s), k.z.term(k.ctx))
}

// OpenSender implements Transport: bind, then wait for every subscriber.
func (t ZMQ) OpenSender(ep harness.Endpoint) (harness.Sender, error) {
	k, err := openZMQSocket(ep, zmqXPUB)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			k.close(0)
		}
	}()
	z := k.z
	for _, o := range []struct{ opt, v int }{
		{zmqSNDHWM, k.cfg.HWM}, {zmqXPUBVERBOSE, 1}, {zmqXPUBNODROP, boolInt(!t.Lossy)},
		{zmqRCVTIMEO, int(zmqJoinTimeout.Milliseconds())},
	} {
		if err := z.setInt(k.s, o.opt, o.v); err != nil {
			return nil, err
		}
	}
	if err := z.bindTo(k.s, k.cfg.Endpoint); err != nil {
		return nil, err
	}
	buf := make([]byte, 64)
	for joined := 0; joined < ep.N; {
		n, err := k.recvMsg(buf, 0)
		if err != nil {
			return nil, fmt.Errorf("zmq: waiting for subscriber %d of %d: %w", joined+1, ep.N, err)
		}
		if n >= 1 && buf[0] == zmqSubscribeByte {
			joined++
		}
	}
	ok = true
	return &zmqSender{k: k}, nil
}

// zmqSender publishes each message. One goroutine at a time.
type zmqSender struct {
	k *zmqSocket
}

func (s *zmqSender) Send(p []byte) error {
	if len(p) == 0 {
		return errors.New("zmq: empty message: it would end the stream")
	}
	return s.k.sendMsg(p, 0)
}

// Close ends the stream. libzmq may drop a message for a subscriber at its
// high-water mark (lossy) and, past that mark, may not take an end marker
// for a subscriber it has set aside, so the sender does not trust one end
// marker: it sends the end again every zmqEndGap (never waiting) until
// XPUB reports that the last subscriber has gone (a receiver closes on the
// first end marker it reads, after every message before it). The feedback
// comes through the same socket, as the subscriptions did.
func (s *zmqSender) Close() error {
	return errors.Join(s.awaitUnsubscribed(), s.k.close(0))
}

func (s *zmqSender) awaitUnsubscribed() error {
	z, k := s.k.z, s.k
	if err := z.setInt(k.s, zmqRCVTIMEO, int(zmqEndGap.Milliseconds())); err != nil {
		return err
	}
	buf := make([]byte, 64)
	deadline := time.Now().Add(zmqEndTimeout)
	for {
		if err := k.sendMsg(nil, zmqDONTWAIT); err != nil && !isZMQErrno(err, zmqEAGAIN) {
			return fmt.Errorf("zmq: end of stream: %w", err)
		}
		n, err := k.recvMsg(buf, 0)
		switch {
		case err == nil && n >= 1 && buf[0] == zmqUnsubscribeByte:
			return nil
		case err != nil && !isZMQErrno(err, zmqEAGAIN):
			return fmt.Errorf("zmq: waiting for subscribers to leave: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("zmq: subscribers still there %v after the end of stream", zmqEndTimeout)
		}
	}
}

// OpenReceiver implements Transport: connect and subscribe to everything.
func (ZMQ) OpenReceiver(ep harness.Endpoint) (harness.Receiver, error) {
	k, err := openZMQSocket(ep, zmqSUB)
	if err != nil {
		return nil, err
	}
	z := k.z
	err = errors.Join(
		z.setInt(k.s, zmqRCVHWM, k.cfg.HWM),
		z.setInt(k.s, zmqRECONNECTIVL, int(zmqReconnect.Milliseconds())),
		z.setBytes(k.s, zmqSUBSCRIBE, nil),
	)
	if err == nil {
		err = z.connectTo(k.s, k.cfg.Endpoint)
	}
	if err != nil {
		k.close(0)
		return nil, err
	}
	return &zmqReceiver{k: k, buf: make([]byte, ep.Payload+1)}, nil
}

// zmqReceiver copies each message into its buffer. One goroutine at a time.
type zmqReceiver struct {
	k   *zmqSocket
	buf []byte // one byte more than the largest payload, to catch longer messages
}

func (r *zmqReceiver) Recv() ([]byte, error) {
	n, err := r.k.recvMsg(r.buf, 0)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, io.EOF
	}
	if n >= len(r.buf) {
		return nil, fmt.Errorf("zmq: message of %d bytes, want at most %d", n, len(r.buf)-1)
	}
	return r.buf[:n], nil
}

func (r *zmqReceiver) Close() error { return r.k.close(0) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isZMQErrno reports whether err is libzmq's errno code.
func isZMQErrno(err error, code int) bool {
	var e *zmqError
	return errors.As(err, &e) && e.code == code
}
