package ipn_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/coordinator"
	"github.com/ipn-project/ipn/wire"
)

// The tests run a coordinator in this process and members as separate
// processes: the test binary re-executed with envRole naming what to do.

const envRole = "IPN_TEST_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(envRole); role != "" {
		if err := runRole(role, os.Getenv("IPN_TEST_PATH")); err != nil {
			fmt.Fprintln(os.Stderr, role+":", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "ipn-test-")
	if err != nil {
		panic(err)
	}
	sock := filepath.Join(dir, "ipnd.sock")
	os.Setenv(wire.EnvSocket, sock)
	os.Setenv(ipn.EnvNoAutostart, "1")
	srv := coordinator.NewServer(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), "")
	if err := srv.Listen(sock, 0o666); err != nil {
		panic(err)
	}
	code := m.Run()
	srv.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// roles are the bodies of member processes, by name. Test files add theirs
// in init. A role prints "connected" (or another line the test waits for)
// once it is ready; path is the network's path.
var roles = map[string]func(path string) error{}

func runRole(role, path string) error {
	r, ok := roles[role]
	if !ok {
		return fmt.Errorf("no role %q", role)
	}
	return r(path)
}

func init() {
	roles["recv3"] = func(path string) error { // receive three messages and print them
		n := ipn.NewNode(ipn.Hub)
		defer n.Close()
		if err := n.Connect(path); err != nil {
			return err
		}
		fmt.Println("connected")
		n.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, 2000)
		for i := 0; i < 3; i++ {
			k, err := n.Recv(buf)
			if err != nil {
				return err
			}
			fmt.Printf("got %q\n", buf[:k])
		}
		return nil
	}
	roles["connect-wait"] = func(path string) error { // connect, say so, and wait to be killed
		n := ipn.NewNode(ipn.Hub)
		defer n.Close()
		if err := n.Connect(path); err != nil {
			return err
		}
		fmt.Println("connected")
		time.Sleep(time.Minute)
		return nil
	}
}

// proc is a member process.
type proc struct {
	cmd *exec.Cmd
	out *syncBuffer
	err *syncBuffer
}

// syncBuffer is a buffer that a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, role, path string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(os.Args[0], "-test.run=^$"), out: &syncBuffer{}, err: &syncBuffer{}}
	p.cmd.Env = append(os.Environ(), envRole+"="+role, "IPN_TEST_PATH="+path)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

func (p *proc) waitLine(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(p.out.String(), want) {
			return
		}
	}
	t.Fatalf("member never printed %q; stdout %q stderr %q", want, p.out.String(), p.err.String())
}

func (p *proc) wait(t *testing.T) string {
	t.Helper()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("member: %v\nstderr: %s", err, p.err.String())
	}
	return p.out.String()
}

func netPath(t *testing.T) string { return filepath.Join(t.TempDir(), "net") }

func TestCreateMakesSocketWithMode(t *testing.T) {
	path := netPath(t)
	n := ipn.NewNode(ipn.Hub)
	defer n.Close()
	if err := n.SetMode(0o640); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o022)
	err := n.Bind(path)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o640 {
		t.Errorf("network file mode %v, want a socket with 0640", st.Mode())
	}
}

func TestHubDelivery(t *testing.T) {
	path := netPath(t)
	a := ipn.NewNode(ipn.Hub)
	defer a.Close()
	if err := a.Bind(path); err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(path); err != nil {
		t.Fatal(err)
	}
	r := start(t, "recv3", path)
	r.waitLine(t, "connected")
	for i := 0; i < 3; i++ {
		if err := a.Send([]byte(fmt.Sprintf("hello %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	out := r.wait(t)
	for i := 0; i < 3; i++ {
		if want := fmt.Sprintf("got %q", fmt.Sprintf("hello %d", i)); !strings.Contains(out, want) {
			t.Errorf("receiver output lacks %s:\n%s", want, out)
		}
	}
	a.SetNonblock(true)
	if _, err := a.Recv(make([]byte, 100)); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("sender received its own messages: %v", err)
	}
}

func TestLifetimeRemovesFile(t *testing.T) {
	path := netPath(t)
	a := ipn.NewNode(ipn.Hub)
	if err := a.Bind(path); err != nil {
		t.Fatal(err)
	}
	m := start(t, "connect-wait", path)
	m.waitLine(t, "connected")
	a.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("network ended while a member was connected: %v", err)
	}
	m.cmd.Process.Kill()
	m.cmd.Wait()
	waitGone(t, path)
}

func waitGone(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Lstat(path); os.IsNotExist(err) {
			return
		}
	}
	t.Fatalf("%s still there after the last node left", path)
}

func TestErrnos(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o644)
	n := ipn.NewNode(ipn.Hub)
	defer n.Close()
	if err := n.Connect(plain); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connect to a plain file: %v, want ECONNREFUSED", err)
	}
	if err := ipn.NewNode(ipn.Any).Bind(filepath.Join(dir, "any")); !errors.Is(err, syscall.EPROTONOSUPPORT) {
		t.Errorf("create with Any: %v, want EPROTONOSUPPORT", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "any")); err == nil {
		t.Errorf("failed create left its file behind")
	}

	path := filepath.Join(dir, "small")
	a := ipn.NewNode(ipn.Hub)
	defer a.Close()
	a.SetNumNodes(1)
	a.SetMTU(100)
	if err := a.Bind(path); err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(path); err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(path); !errors.Is(err, syscall.EISCONN) {
		t.Errorf("second connect: %v, want EISCONN", err)
	}
	b := ipn.NewNode(ipn.Hub)
	defer b.Close()
	if err := b.Connect(path); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("connect to a full network: %v, want EADDRNOTAVAIL", err)
	}
	if err := a.Send(make([]byte, 101)); !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("send over the MTU: %v, want EMSGSIZE", err)
	}
	c := ipn.NewNode(ipn.Policy(2))
	defer c.Close()
	if err := c.Bind(path); !errors.Is(err, syscall.EPROTO) {
		t.Errorf("bind with another policy: %v, want EPROTO", err)
	}
	if err := a.SetMTU(200); !errors.Is(err, syscall.EISCONN) {
		t.Errorf("set a network option after bind: %v, want EISCONN", err)
	}
}

func TestOOBNumNodes(t *testing.T) {
	path := netPath(t)
	a := ipn.NewNode(ipn.Hub)
	defer a.Close()
	a.SetWantOOBNumNodes(true)
	if err := a.Bind(path); err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(path); err != nil {
		t.Fatal(err)
	}
	m := start(t, "connect-wait", path)
	m.waitLine(t, "connected")
	a.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	want := []uint32{2, 2} // readers, writers after the member joined
	for {
		k, oob, err := a.RecvMsg(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !oob || k != 16 {
			t.Fatalf("got a %d-byte message (oob %v), want a 16-byte notice", k, oob)
		}
		r, w := binary.LittleEndian.Uint32(buf[8:]), binary.LittleEndian.Uint32(buf[12:])
		if r == want[0] && w == want[1] {
			break
		}
	}
	m.cmd.Process.Kill()
	m.cmd.Wait()
	for {
		k, oob, err := a.RecvMsg(buf)
		if err != nil {
			t.Fatalf("no notice after the member died: %v", err)
		}
		if oob && k == 16 && binary.LittleEndian.Uint32(buf[8:]) == 1 && binary.LittleEndian.Uint32(buf[12:]) == 1 {
			break
		}
	}
}

func TestChangeNumNodes(t *testing.T) {
	path := netPath(t)
	a := creator(t, path, func(n *ipn.Node) { n.SetNumNodes(1) })
	b := ipn.NewNode(ipn.Hub)
	defer b.Close()
	if err := b.Connect(path); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("connect to a full network: %v, want EADDRNOTAVAIL", err)
	}
	if err := b.ChangeNumNodes(4); !errors.Is(err, syscall.EPERM) {
		t.Errorf("resize by a node that is not bound: %v, want EPERM", err)
	}
	if err := a.ChangeNumNodes(4); err != nil {
		t.Fatal(err)
	}
	if o, err := a.Options(); err != nil || o.NumNodes != 4 {
		t.Errorf("after resize: %+v, %v; want 4 nodes", o, err)
	}
	if err := b.Connect(path); err != nil {
		t.Fatalf("connect after growing: %v", err)
	}
	if err := a.ChangeNumNodes(1); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("shrink below a port in use: %v, want EBUSY", err)
	}
	a.Send([]byte("grown"))
	buf := make([]byte, 16)
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if k, err := b.Recv(buf); err != nil || string(buf[:k]) != "grown" {
		t.Errorf("recv on a new port: %q %v", buf[:k], err)
	}
}

// creator makes the network at path with a node that binds (after set
// applies its options) and connects; it closes when the test ends.
func creator(t *testing.T, path string, set ...func(*ipn.Node)) *ipn.Node {
	t.Helper()
	n := ipn.NewNode(ipn.Hub)
	t.Cleanup(func() { n.Close() })
	for _, f := range set {
		f(n)
	}
	if err := n.Bind(path); err != nil {
		t.Fatal(err)
	}
	if err := n.Connect(path); err != nil {
		t.Fatal(err)
	}
	return n
}

// joiner connects a node to the network at path; it closes when the test
// ends.
func joiner(t *testing.T, path string) *ipn.Node {
	t.Helper()
	n := ipn.NewNode(ipn.Hub)
	t.Cleanup(func() { n.Close() })
	if err := n.Connect(path); err != nil {
		t.Fatal(err)
	}
	return n
}
