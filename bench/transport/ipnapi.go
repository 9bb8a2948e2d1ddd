package transport

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/wire"

	"github.com/ipn-project/ipn/bench/harness"
)

// IPNAPI is ipn through its public API with a coordinator running: the
// parent runs the coordinator and creates a lossless hub network with
// ipn.Create; each child connects a Node to it as any application would.
// The sender ends the stream with an empty message. Compared with IPN, it
// measures what the client API and the coordinator cost on the data path
// (they should cost next to nothing: the coordinator is not on it).
type IPNAPI struct{}

var _ harness.Transport = IPNAPI{}

// Name implements Transport.
func (IPNAPI) Name() string { return "ipn-api" }

type ipnAPIConfig struct {
	Socket string `json:"socket"`
	Path   string `json:"path"`
}

var ApiSeq atomic.Int64

// Setup implements Transport.
func (t IPNAPI) Setup(n, payload int) (*harness.Plan, error) {
	sock, err := harness.CoordinatorSocket()
	if err != nil {
		return nil, err
	}
	os.Setenv(wire.EnvSocket, sock)
	os.Setenv(ipn.EnvNoAutostart, "1")
	path := filepath.Join(filepath.Dir(sock), fmt.Sprintf("net-%d", ApiSeq.Add(1)))
	if err := ipn.Create(path, ipn.Hub, ipn.Options{MTU: payload, NumNodes: n + 1, Pool: ipnPool(n, payload), Lossless: true}); err != nil {
		return nil, err
	}
	cfg, _ := json.Marshal(ipnAPIConfig{Socket: sock, Path: path})
	return &harness.Plan{Config: string(cfg), Files: make([][]*os.File, n+1), Cleanup: func() { ipn.Destroy(path) }}, nil
}

func openAPINode(ep harness.Endpoint) (*ipn.Node, error) {
	var cfg ipnAPIConfig
	if err := json.Unmarshal([]byte(ep.Config), &cfg); err != nil {
		return nil, fmt.Errorf("ipn-api: config: %w", err)
	}
	os.Setenv(wire.EnvSocket, cfg.Socket)
	os.Setenv(ipn.EnvNoAutostart, "1")
	node := ipn.NewNode(ipn.Hub)
	if err := node.Connect(cfg.Path); err != nil {
		node.Close()
		return nil, err
	}
	return node, nil
}

// OpenSender implements Transport.
func (IPNAPI) OpenSender(ep harness.Endpoint) (harness.Sender, error) {
	n, err := openAPINode(ep)
	if err != nil {
		return nil, err
	}
	return apiSender{n}, nil
}

// OpenReceiver implements Transport.
func (IPNAPI) OpenReceiver(ep harness.Endpoint) (harness.Receiver, error) {
	n, err := openAPINode(ep)
	if err != nil {
		return nil, err
	}
	return &apiReceiver{n: n}, nil
}

type apiSender struct{ n *ipn.Node }

func (s apiSender) Send(b []byte) error { return s.n.Send(b) }

// Close sends the empty end-of-stream message and leaves the network.
func (s apiSender) Close() error {
	err := s.n.Send(nil)
	s.n.Close()
	return err
}

type apiReceiver struct {
	n    *ipn.Node
	held ipn.View
	have bool
}

func (r *apiReceiver) Recv() ([]byte, error) {
	if r.have {
		r.n.Release(r.held)
		r.have = false
	}
	v, err := r.n.RecvView()
	if err != nil {
		return nil, err
	}
	if len(v.Data) == 0 {
		r.n.Release(v)
		return nil, io.EOF
	}
	r.held, r.have = v, true
	return v.Data, nil
}

func (r *apiReceiver) Close() error {
	if r.have {
		r.n.Release(r.held)
		r.have = false
	}
	return r.n.Close()
}
