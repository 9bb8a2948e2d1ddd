package transport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/ipn-project/ipn/internal/fdpass"
	"github.com/ipn-project/ipn/internal/member"
	"github.com/ipn-project/ipn/internal/stream"
	"github.com/ipn-project/ipn/plane"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/transport/shmring"
)

// IPN is ipn's data plane as a fan-out transport: one lossless network, the
// sender on port 0 and receiver i on port 1+i. The sender copies each
// message into a slot once (as the sockets copy it into the kernel); each
// receiver reads the slot in place and releases it on its next Recv.
//
// The parent plays the coordinator: it creates the segment and eventfds,
// opens the ports, and hands each child its descriptors over a unix socket
// (SCM_RIGHTS), as the coordinator does for real members.
type IPN struct {
	// Pool is the network's message pool (IPN_SO_MSGPOOLSIZE); 0 gives it
	// as many slots as the bare ring has (see ipnPool).
	Pool int
	// Spin fixes the polling budget before sleeping (see ring.Port.SetSpin);
	// -1 or 0 in the zero value means adaptive. Use SpinNone to always sleep.
	Spin int
	// Lossy makes the network lossy: a message that finds no free slot, or
	// a receiver's ring full, is dropped (and counted) instead of making
	// the sender wait. The end of stream still arrives out of band.
	Lossy bool
}

// ipnPool gives ipn as many slots as ShmRing gets for the same payload
// (ringLayout: up to 1024, within 16 MiB), so the two shared-memory
// transports buffer the same number of messages.
func ipnPool(n, payload int) int {
	l, err := shmring.NewRingLayout(n, payload)
	if err != nil {
		return 64
	}
	return int(l.Slots)
}

// SpinNone makes IPN receivers sleep on their eventfd at once.
const SpinNone = -2

var (
	_ harness.Transport = IPN{}
	_ harness.Dropper   = IPN{}
)

// Name implements Transport.
func (t IPN) Name() string {
	name := "ipn"
	if t.Spin == SpinNone {
		name += "-sleep"
	}
	if t.Lossy {
		name += "-lossy"
	}
	return name
}

// Drops implements Dropper.
func (t IPN) Drops() bool { return t.Lossy }

type ipnConfig struct {
	Spin int `json:"spin"`
}

var ipnSeq atomic.Int64

// Setup implements Transport.
func (t IPN) Setup(n, payload int) (*harness.Plan, error) {
	pool := t.Pool
	if pool == 0 {
		pool = ipnPool(n, payload)
	}
	g := shm.Derive(shm.Options{MTU: payload, Ports: n + 1, Pool: pool, Lossless: !t.Lossy})
	name := fmt.Sprintf("ipn-bench-%d-%d", os.Getpid(), ipnSeq.Add(1))
	d, err := plane.Create("", name, g)
	if err != nil {
		return nil, err
	}
	net := d.Net
	plan := &harness.Plan{Cleanup: d.Close}
	ok := false
	defer func() {
		if !ok {
			plan.Close()
		}
	}()
	cfg, _ := json.Marshal(ipnConfig{Spin: t.Spin})
	plan.Config = string(cfg)
	for p := 0; p <= n; p++ {
		roles := shm.RoleRead
		if p == 0 {
			roles = shm.RoleWrite
		}
		if err := net.OpenPort(p, 0, roles); err != nil {
			return nil, err
		}
		conn, child, err := fdpass.Pair()
		if err != nil {
			return nil, err
		}
		err = member.Send(conn, d, p)
		conn.Close()
		plan.Files = append(plan.Files, []*os.File{child})
		if err != nil {
			return nil, err
		}
	}
	ok = true
	return plan, nil
}

// openPort is the child's side of Setup.
func openIPNPort(ep harness.Endpoint) (*ring.Port, error) {
	if len(ep.Files) != 1 {
		return nil, fmt.Errorf("ipn: want 1 file, got %d", len(ep.Files))
	}
	conn, err := fdpass.ConnFromFile(ep.Files[0])
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var port int
	net, err := member.Receive(conn, &port)
	if err != nil {
		return nil, err
	}
	p, err := net.Port(port)
	if err != nil {
		return nil, err
	}
	var cfg ipnConfig
	if err := json.Unmarshal([]byte(ep.Config), &cfg); err != nil {
		return nil, fmt.Errorf("ipn: config: %w", err)
	}
	switch cfg.Spin {
	case SpinNone:
		p.SetSpin(0)
	case 0, -1:
	default:
		p.SetSpin(cfg.Spin)
	}
	return p, nil
}

// OpenSender implements Transport.
func (IPN) OpenSender(ep harness.Endpoint) (harness.Sender, error) {
	p, err := openIPNPort(ep)
	if err != nil {
		return nil, err
	}
	return &ipnSender{p: p, to: p.Network().Readers() &^ 1}, nil
}

// OpenReceiver implements Transport.
func (IPN) OpenReceiver(ep harness.Endpoint) (harness.Receiver, error) {
	p, err := openIPNPort(ep)
	if err != nil {
		return nil, err
	}
	return &ipnReceiver{p: p}, nil
}

type ipnSender struct {
	p  *ring.Port
	to uint64
}

func (s *ipnSender) Send(b []byte) error {
	_, err := s.p.Send(b, s.to, 0, time.Time{})
	return err
}

// Close sends the out-of-band end marker, which receivers read before any
// data still queued, so they drain before reporting EOF.
func (s *ipnSender) Close() error { return stream.SendEnd(s.p) }

type ipnReceiver struct {
	p     *ring.Port
	held  ring.View
	have  bool
	ended bool
}

func (r *ipnReceiver) Recv() ([]byte, error) {
	if r.have {
		r.p.Release(r.held)
		r.have = false
	}
	for {
		var v ring.View
		var err error
		if r.ended {
			v, err = r.p.TryRecvView()
			if errors.Is(err, ring.ErrAgain) {
				return nil, io.EOF
			}
		} else {
			v, err = r.p.RecvView(time.Time{})
		}
		if err != nil {
			return nil, err
		}
		if v.OOB {
			r.ended = string(v.Data) == stream.EndMarker
			r.p.Release(v)
			continue
		}
		r.held, r.have = v, true
		return v.Data, nil
	}
}

func (r *ipnReceiver) Close() error {
	if r.have {
		r.p.Release(r.held)
		r.have = false
	}
	return nil
}
