package transport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/internal/vde"

	"github.com/ipn-project/ipn/bench/harness"
)

// VDE is vde_switch (Debian's vde2) in hub mode as a fan-out transport: the
// parent starts one switch per run; the sender and every receiver plug a
// port into it, speaking the switch's client protocol (vde_protocol.go),
// and exchange Ethernet frames as datagrams through it. The payload rides
// after a 14-byte Ethernet header (broadcast destination), so a message
// carries at most vdeMaxData bytes.
//
// The sender's own datagrams wait when the switch is busy (its socket is
// blocking), but the switch forwards with non-blocking sends and drops a
// frame for a receiver whose socket is full: VDE Drops, and belongs in the
// lossy matrix. VDE is stateless and safe for concurrent use.
type VDE struct{}

var (
	_ harness.Transport      = VDE{}
	_ harness.Prober         = VDE{}
	_ harness.Dropper        = VDE{}
	_ harness.PayloadLimiter = VDE{}
)

// Name implements Transport.
func (VDE) Name() string { return "vde" }

// Available implements Prober: it needs vde_switch on the PATH.
func (VDE) Available() error {
	if _, err := exec.LookPath("vde_switch"); err != nil {
		return fmt.Errorf("vde_switch not found (install Debian's vde2): %w", err)
	}
	return nil
}

// Drops implements Dropper.
func (VDE) Drops() bool { return true }

// MaxPayload implements PayloadLimiter.
func (VDE) MaxPayload() int { return VdeMaxData }

type vdeConfig struct {
	Dir string `json:"dir"` // client sockets are bound here
	Ctl string `json:"ctl"` // the switch's control socket
}

// Setup implements Transport: it starts the switch; children get no files.
func (t VDE) Setup(n, payload int) (*harness.Plan, error) {
	if payload > VdeMaxData {
		return nil, fmt.Errorf("vde: payload %d bytes, the switch carries at most %d", payload, VdeMaxData)
	}
	dir, err := os.MkdirTemp("", "ipnbench-vde-")
	if err != nil {
		return nil, err
	}
	sw, err := startVDESwitch(filepath.Join(dir, "sw"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg, _ := json.Marshal(vdeConfig{Dir: dir, Ctl: filepath.Join(dir, "sw", "ctl")})
	return &harness.Plan{
		Config: string(cfg),
		Files:  make([][]*os.File, 1+n),
		Cleanup: func() {
			sw.stop()
			os.RemoveAll(dir)
		},
	}, nil
}

// vdePort is one plugged port: the control connection, which holds the
// port open, and the connected data socket. One goroutine at a time.
type vdePort struct {
	ctl, data int
}

// plugVDE opens a port on the switch of ep.Config for the client named name.
func plugVDE(ep harness.Endpoint, name string) (*vdePort, error) {
	var cfg vdeConfig
	if err := json.Unmarshal([]byte(ep.Config), &cfg); err != nil {
		return nil, fmt.Errorf("vde: config: %w", err)
	}
	p := &vdePort{ctl: -1, data: -1}
	ok := false
	defer func() {
		if !ok {
			p.close()
		}
	}()
	var err error
	if p.data, err = unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
		return nil, fmt.Errorf("vde: socket(SOCK_DGRAM): %w", err)
	}
	self := filepath.Join(cfg.Dir, name)
	if err := unix.Bind(p.data, &unix.SockaddrUnix{Name: self}); err != nil {
		return nil, fmt.Errorf("vde: bind(%s): %w", self, err)
	}
	if p.ctl, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
		return nil, fmt.Errorf("vde: socket(SOCK_STREAM): %w", err)
	}
	if err := unix.Connect(p.ctl, &unix.SockaddrUnix{Name: cfg.Ctl}); err != nil {
		return nil, fmt.Errorf("vde: connect(%s): %w", cfg.Ctl, err)
	}
	req, err := vde.EncodeRequest(vde.Request{Type: vde.ReqNewControl, Sock: self, Descr: "ipn bench " + name})
	if err != nil {
		return nil, err
	}
	if err := writeFull(p.ctl, req); err != nil {
		return nil, fmt.Errorf("vde: request to %s: %w", cfg.Ctl, err)
	}
	reply := make([]byte, vde.SockaddrLen)
	if err := readFull(p.ctl, reply); err != nil {
		return nil, fmt.Errorf("vde: reply from %s (the switch refused the port?): %w", cfg.Ctl, err)
	}
	peer, err := vde.DecodeReply(reply)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(p.data, &unix.SockaddrUnix{Name: peer}); err != nil {
		return nil, fmt.Errorf("vde: connect(%s): %w", peer, err)
	}
	ok = true
	return p, nil
}

func (p *vdePort) close() error {
	var errs []error
	for _, fd := range []*int{&p.data, &p.ctl} {
		if *fd >= 0 {
			errs = append(errs, unix.Close(*fd))
			*fd = -1
		}
	}
	return errors.Join(errs...)
}

// vdeEnd is the payload that ends the stream: shorter than SeqSize, so never
// a message of the stream.
var vdeEnd = []byte("END!")

// Repeats of the end of stream: the switch may drop a frame for a receiver
// still busy with the tail of the stream, so the sender sends the end
// vdeEndRepeats times, vdeEndGap apart, after the last message.
const (
	vdeEndRepeats = 100
	vdeEndGap     = 2 * time.Millisecond
)

// OpenSender implements Transport.
func (VDE) OpenSender(ep harness.Endpoint) (harness.Sender, error) {
	p, err := plugVDE(ep, "tx")
	if err != nil {
		return nil, err
	}
	s := &vdeSender{p: p, frame: make([]byte, vdeEthHeader+ep.Payload)}
	h := vdeHeader()
	copy(s.frame, h[:])
	return s, nil
}

// vdeSender copies each payload after the header and sends the frame.
// One goroutine at a time.
type vdeSender struct {
	p     *vdePort
	frame []byte
}

func (s *vdeSender) Send(b []byte) error {
	if len(b) < harness.SeqSize || len(b) > len(s.frame)-vdeEthHeader {
		return fmt.Errorf("vde: message of %d bytes, want %d to %d", len(b), harness.SeqSize, len(s.frame)-vdeEthHeader)
	}
	n := vdeEthHeader + copy(s.frame[vdeEthHeader:], b)
	return sendMsg(s.p.data, s.frame[:n])
}

func (s *vdeSender) Close() error {
	defer s.p.close()
	n := vdeEthHeader + copy(s.frame[vdeEthHeader:], vdeEnd)
	for i := range vdeEndRepeats {
		if err := sendMsg(s.p.data, s.frame[:n]); err != nil {
			return fmt.Errorf("vde: end of stream %d: %w", i, err)
		}
		time.Sleep(vdeEndGap)
	}
	return nil
}

// OpenReceiver implements Transport.
func (VDE) OpenReceiver(ep harness.Endpoint) (harness.Receiver, error) {
	p, err := plugVDE(ep, fmt.Sprintf("rx%d", ep.Index))
	if err != nil {
		return nil, err
	}
	return &vdeReceiver{p: p, buf: make([]byte, vdeEthHeader+VdeMaxData+1)}, nil
}

// vdeReceiver returns the payload of each frame, after its header.
// One goroutine at a time.
type vdeReceiver struct {
	p   *vdePort
	buf []byte
}

func (r *vdeReceiver) Recv() ([]byte, error) {
	for {
		n, err := unix.Read(r.p.data, r.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("vde: read: %w", err)
		}
		if n < vdeEthHeader {
			return nil, fmt.Errorf("vde: frame of %d bytes, shorter than its header", n)
		}
		if n == len(r.buf) {
			return nil, fmt.Errorf("vde: frame longer than %d bytes", len(r.buf)-1)
		}
		p := r.buf[vdeEthHeader:n]
		if string(p) == string(vdeEnd) {
			return nil, io.EOF
		}
		return p, nil
	}
}

func (r *vdeReceiver) Close() error { return r.p.close() }

// writeFull writes all of b to the blocking stream socket fd.
func writeFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// readFull fills b from the blocking stream socket fd.
func readFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		b = b[n:]
	}
	return nil
}
