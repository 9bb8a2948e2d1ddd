// Package ringtest runs data-plane tests across real processes: the test
// process plays the coordinator (it creates the segment and eventfds, opens
// and reclaims ports) and re-executes the test binary as members, handing
// each its descriptors over SCM_RIGHTS.
//
// A test package using it calls Main from TestMain, and registers the member
// roles it needs with Register.
package ringtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipn-project/ipn/internal/member"
	"github.com/ipn-project/ipn/plane"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
)

// envRole marks a re-executed test binary as a member process.
const envRole = "IPN_RINGTEST_ROLE"

// Args tell a member what to do.
type Args struct {
	Count int               `json:"count,omitempty"`
	Size  int               `json:"size,omitempty"`
	Seed  int64             `json:"seed,omitempty"`
	To    uint64            `json:"to,omitempty"`
	Extra map[string]string `json:"extra,omitempty"`
	Port  int               `json:"port"`
}

// Role is the body of a member process. Its result is printed as JSON.
type Role func(p *ring.Port, a Args) (any, error)

var roles = map[string]Role{}

// Register names a role that Spawn can start.
func Register(name string, r Role) { roles[name] = r }

// Main runs a member role if this process is one, and the tests otherwise.
func Main(m *testing.M) {
	if name := os.Getenv(envRole); name != "" {
		os.Exit(runMember(name))
	}
	os.Exit(m.Run())
}

func runMember(name string) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "member %s: %v\n", name, err)
		return 1
	}
	role, ok := roles[name]
	if !ok {
		return fail(fmt.Errorf("no such role"))
	}
	var a Args
	net, err := member.Attach(&a)
	if err != nil {
		return fail(err)
	}
	port, err := net.Port(a.Port)
	if err != nil {
		return fail(err)
	}
	res, err := role(port, a)
	if err != nil {
		return fail(err)
	}
	out, err := json.Marshal(res)
	if err != nil {
		return fail(err)
	}
	os.Stdout.Write(append(out, '\n'))
	return 0
}

// Net is a network made by the test process, which acts as its coordinator.
type Net struct {
	N     *ring.Network
	G     shm.Geometry
	plane *plane.Plane
	t     testing.TB
	local []*ring.Port
}

var netSeq atomic.Int64

// NewNet creates a network of geometry g, freed when the test ends.
func NewNet(t testing.TB, g shm.Geometry) *Net {
	t.Helper()
	name := fmt.Sprintf("ipn-test-%d-%d", os.Getpid(), netSeq.Add(1))
	p, err := plane.Create(name, g)
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	t.Cleanup(p.Close)
	return &Net{N: p.Net, G: g, plane: p, t: t}
}

// FreeSlots returns the free slots of the busiest sender opened in the
// test process (Open); G.Slots when none holds any.
func (n *Net) FreeSlots() int {
	free := n.G.Slots
	for _, p := range n.local {
		if p.Network().Writers()&(1<<p.ID()) != 0 {
			free = min(free, p.FreeSlots())
		}
	}
	return free
}

// Unread counts the messages of every port that receivers have not passed
// or still hold: zero once the network is quiet and nothing leaked.
func (n *Net) Unread() int {
	k := 0
	for p := 0; p < n.G.Ports; p++ {
		k += n.N.Unread(p)
	}
	return k
}

// Open opens port p for this process (a member in the test process itself).
func (n *Net) Open(p int, roles uint32) *ring.Port {
	n.t.Helper()
	if err := n.N.OpenPort(p, os.Getpid(), roles); err != nil {
		n.t.Fatalf("open port %d: %v", p, err)
	}
	pt, err := n.N.Port(p)
	if err != nil {
		n.t.Fatalf("port %d: %v", p, err)
	}
	n.local = append(n.local, pt)
	return pt
}

// Reclaim reclaims port p, failing the test on error.
func (n *Net) Reclaim(p int, dead uint64) int {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k, err := n.N.Reclaim(ctx, p, dead)
	if err != nil {
		n.t.Fatalf("reclaim port %d: %v", p, err)
	}
	return k
}

// Member is a member process.
type Member struct {
	Cmd    *exec.Cmd
	Port   int
	Stdout bytes.Buffer
	Stderr bytes.Buffer
	done   chan error
}

// Spawn opens port a.Port with roles and starts a member process running
// role with a. It returns once the member has attached.
func (n *Net) Spawn(role string, roles uint32, a Args) *Member {
	n.t.Helper()
	if err := n.N.OpenPort(a.Port, 0, roles); err != nil {
		n.t.Fatalf("open port %d: %v", a.Port, err)
	}
	m := &Member{Port: a.Port, done: make(chan error, 1)}
	m.Cmd = exec.Command(os.Args[0], "-test.run=^$")
	m.Cmd.Env = append(os.Environ(), envRole+"="+role)
	m.Cmd.Stdout, m.Cmd.Stderr = &m.Stdout, &m.Stderr
	if err := member.Start(m.Cmd, n.plane, a.Port, a); err != nil {
		n.t.Fatalf("member %s on port %d: %v (stderr: %s)", role, a.Port, err, m.Stderr.String())
	}
	go func() { m.done <- m.Cmd.Wait() }()
	return m
}

// Wait waits for the member to exit and decodes its result into res.
func (m *Member) Wait(t testing.TB, res any) {
	t.Helper()
	select {
	case err := <-m.done:
		if err != nil {
			t.Fatalf("member on port %d: %v\nstderr: %s", m.Port, err, m.Stderr.String())
		}
	case <-time.After(2 * time.Minute):
		m.Cmd.Process.Kill()
		t.Fatalf("member on port %d did not finish\nstderr: %s", m.Port, m.Stderr.String())
	}
	if res != nil {
		if err := json.Unmarshal(m.Stdout.Bytes(), res); err != nil {
			t.Fatalf("member on port %d: result %q: %v", m.Port, m.Stdout.String(), err)
		}
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (m *Member) Kill() {
	m.Cmd.Process.Kill()
	<-m.done
	m.done <- nil
}
