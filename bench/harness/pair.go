package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Pair is one way of connecting two processes for round trips. BenchmarkPingPong
// and TestPingPong run every pair listed by Pairs the same way. As with
// Transport, SetupPair runs in the parent and OpenConn in the children, which
// find the Pair by Name.
type Pair interface {
	// Name identifies the pair in benchmark names and in child processes.
	Name() string
	// SetupPair prepares one run for messages of at most payload bytes.
	// Plan.Files[0] go to the pinger, Plan.Files[1] to the ponger.
	SetupPair(payload int) (*Plan, error)
	// OpenConn opens side ep.Index (0 pinger, 1 ponger).
	OpenConn(ep Endpoint) (Conn, error)
}

// Conn is one side of a Pair. One goroutine at a time.
type Conn interface {
	// Send delivers p to the peer. The caller may reuse p once Send returns.
	Send(p []byte) error
	// Recv returns the peer's next message, valid until the next Recv or
	// Close, or io.EOF once the peer has closed.
	Recv() ([]byte, error)
	// Close ends this side's stream and releases the connection.
	Close() error
}

// PairOf makes a Pair out of a fan-out Transport with one receiver in each
// direction, so that any transport gets a ping-pong benchmark for free.
func PairOf(t Transport) Pair { return pairOf{t} }

type pairOf struct{ t Transport }

// pairConfig is the Plan.Config of a pairOf: the two one-way plans.
type pairConfig struct {
	Fwd, Back           string // configs of pinger→ponger and ponger→pinger
	FwdFiles, BackFiles [2]int // files per process of each plan
}

func (p pairOf) Name() string { return p.t.Name() }

// Available implements Prober: a pair runs where its transport does.
func (p pairOf) Available() error { return Availability(p.t) }

func (p pairOf) SetupPair(payload int) (*Plan, error) {
	fwd, err := p.t.Setup(1, payload)
	if err != nil {
		return nil, err
	}
	back, err := p.t.Setup(1, payload)
	if err != nil {
		fwd.Close()
		return nil, err
	}
	if len(fwd.Files) != 2 || len(back.Files) != 2 {
		fwd.Close()
		back.Close()
		return nil, fmt.Errorf("bench: %s: one-receiver plan has %d and %d processes, want 2", p.t.Name(), len(fwd.Files), len(back.Files))
	}
	cfg, err := json.Marshal(pairConfig{
		Fwd: fwd.Config, Back: back.Config,
		FwdFiles:  [2]int{len(fwd.Files[0]), len(fwd.Files[1])},
		BackFiles: [2]int{len(back.Files[0]), len(back.Files[1])},
	})
	if err != nil {
		fwd.Close()
		back.Close()
		return nil, err
	}
	files := [][]*os.File{
		append(append([]*os.File(nil), fwd.Files[0]...), back.Files[1]...),
		append(append([]*os.File(nil), fwd.Files[1]...), back.Files[0]...),
	}
	fwdClean, backClean := fwd.Cleanup, back.Cleanup
	return &Plan{
		Config: string(cfg),
		Files:  files,
		Cleanup: func() {
			if fwdClean != nil {
				fwdClean()
			}
			if backClean != nil {
				backClean()
			}
		},
	}, nil
}

func (p pairOf) OpenConn(ep Endpoint) (Conn, error) {
	var cfg pairConfig
	if err := json.Unmarshal([]byte(ep.Config), &cfg); err != nil {
		return nil, fmt.Errorf("bench: %s: pair config: %w", p.t.Name(), err)
	}
	side := ep.Index
	if side != 0 && side != 1 {
		return nil, fmt.Errorf("bench: %s: side %d, want 0 or 1", p.t.Name(), side)
	}
	// The pinger's files are its fwd sender files, then its back receiver
	// files; the ponger's are its fwd receiver files, then its back sender
	// files (see SetupPair).
	if side == 0 {
		n := cfg.FwdFiles[0]
		if want := n + cfg.BackFiles[1]; len(ep.Files) != want {
			return nil, fmt.Errorf("bench: %s: pinger got %d files, want %d", p.t.Name(), len(ep.Files), want)
		}
		return p.open(ep, cfg.Fwd, ep.Files[:n], cfg.Back, ep.Files[n:])
	}
	n := cfg.FwdFiles[1]
	if want := n + cfg.BackFiles[0]; len(ep.Files) != want {
		return nil, fmt.Errorf("bench: %s: ponger got %d files, want %d", p.t.Name(), len(ep.Files), want)
	}
	return p.open(ep, cfg.Back, ep.Files[n:], cfg.Fwd, ep.Files[:n])
}

func (p pairOf) open(ep Endpoint, sendCfg string, sendFiles []*os.File, recvCfg string, recvFiles []*os.File) (Conn, error) {
	s, err := p.t.OpenSender(Endpoint{N: 1, Payload: ep.Payload, Config: sendCfg, Files: sendFiles})
	if err != nil {
		return nil, err
	}
	r, err := p.t.OpenReceiver(Endpoint{N: 1, Payload: ep.Payload, Config: recvCfg, Files: recvFiles})
	if err != nil {
		s.Close()
		return nil, err
	}
	return &pairConn{s: s, r: r}, nil
}

// pairConn joins a Sender and a Receiver into a Conn. One goroutine at a time.
type pairConn struct {
	s Sender
	r Receiver
}

func (c *pairConn) Send(p []byte) error   { return c.s.Send(p) }
func (c *pairConn) Recv() ([]byte, error) { return c.r.Recv() }
func (c *pairConn) Close() error          { return errors.Join(c.s.Close(), c.r.Close()) }
