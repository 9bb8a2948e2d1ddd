package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/internal/netns"
)

// sockPeer is the program every ipn sock test drives from Python: it
// connects to the socket argv[1] and runs one command per line of its
// standard input, answering each with one line:
//
//	send N,N,...   send messages of those sizes (sockPayload)   → sent
//	recv N,N,...   receive messages of those sizes, waiting for each with
//	               poll, select and epoll in turn, and check them → recv ok
//	pending        is a message waiting (poll, no wait)?         → pending yes|no
//	raw            receive one message                          → raw LEN TEXT
//	hello TEXT     send TEXT (\n for newlines), receive the reply → reply TEXT
//	shut rd|wr     shutdown(SHUT_RD or SHUT_WR)                 → shut
//
// A failure answers "error ERRNO" (EPIPE, say) or "bad ...".
const sockPeer = `
import errno, select, socket, sys

def payload(n, k):
    return bytes((i * 31 + n + k) % 251 for i in range(n))

s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
print("connected", flush=True)
waits = 0

def wait_readable():
    global waits
    how = waits % 3
    waits += 1
    if how == 0:
        p = select.poll()
        p.register(s, select.POLLIN)
        ok = bool(p.poll(60000))
    elif how == 1:
        ok = bool(select.select([s], [], [], 60)[0])
    else:
        e = select.epoll()
        e.register(s.fileno(), select.EPOLLIN)
        ok = bool(e.poll(60))
        e.close()
    if not ok:
        raise TimeoutError("no message within a minute")

for line in sys.stdin:
    cmd, _, arg = line.rstrip("\n").partition(" ")
    try:
        if cmd == "send":
            for k, n in enumerate(map(int, arg.split(","))):
                s.send(payload(n, k))
            out = "sent"
        elif cmd == "recv":
            out = "recv ok"
            for k, n in enumerate(map(int, arg.split(","))):
                wait_readable()
                m = s.recv(65536)
                if m != payload(n, k):
                    out = "bad message %d: %d bytes %r, want %d" % (k, len(m), m[:40], n)
                    break
        elif cmd == "pending":
            p = select.poll()
            p.register(s, select.POLLIN)
            out = "pending yes" if p.poll(0) else "pending no"
        elif cmd == "raw":
            s.settimeout(60)
            m = s.recv(65536)
            s.settimeout(None)
            out = "raw %d %s" % (len(m), m.decode(errors="replace"))
        elif cmd == "hello":
            s.send(arg.replace("\\n", "\n").encode())
            out = "reply " + s.recv(65536).decode(errors="replace")
        elif cmd == "shut":
            s.shutdown({"rd": socket.SHUT_RD, "wr": socket.SHUT_WR}[arg])
            out = "shut"
        else:
            out = "bad command " + cmd
    except OSError as e:
        out = "error " + errno.errorcode.get(e.errno, str(e.errno))
    print(out, flush=True)
`

// sockPayload is the message of n bytes sockPeer sends k-th in a batch.
func sockPayload(n, k int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*31 + n + k) % 251)
	}
	return b
}

func needPython(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("needs python3")
	}
	return py
}

func needSocat(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("needs socat (Debian's socat; .ci/run installs it)")
	}
}

// pyPeer is a running sockPeer.
type pyPeer struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	err   *netns.Buffer
}

// startPeer starts sockPeer on the socket at sock, as cred when it is not
// nil, and waits until it has connected.
func startPeer(t *testing.T, sock string, cred *syscall.Credential) *pyPeer {
	t.Helper()
	py := needPython(t)
	if cred != nil {
		// Another user may not run a python3 of root's own (pyenv's,
		// under /root): the system's, then.
		if py = "/usr/bin/python3"; !fileExists(py) {
			t.Skip("needs a python3 other users may run, /usr/bin/python3")
		}
	}
	cmd := exec.Command(py, "-c", sockPeer, sock)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	p := &pyPeer{t: t, cmd: cmd, lines: make(chan string, 16), err: &netns.Buffer{}}
	var err error
	if p.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.err
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	if got := p.line(); got != "connected" {
		t.Fatalf("the Python peer said %q", got)
	}
	return p
}

// line is the peer's next line of output.
func (p *pyPeer) line() string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("the Python peer ended: %s", p.err.String())
		}
		return l
	case <-time.After(2 * time.Minute):
		p.t.Fatalf("the Python peer said nothing for two minutes: %s", p.err.String())
	}
	return ""
}

// do runs one sockPeer command and returns its answer.
func (p *pyPeer) do(command string) string {
	p.t.Helper()
	if _, err := io.WriteString(p.in, command+"\n"); err != nil {
		p.t.Fatal(err)
	}
	return p.line()
}

// must runs a command and fails the test unless the answer is want.
func (p *pyPeer) must(command, want string) {
	p.t.Helper()
	if got := p.do(command); got != want {
		p.t.Fatalf("Python peer: %s: %q, want %q", command, got, want)
	}
}

// serveSockFile starts ipn sock for the network at path, with args, on a
// socket file in a directory anyone may enter, and returns the file.
func serveSockFile(t *testing.T, path string, args ...string) string {
	t.Helper()
	dir := openDir(t)
	file := filepath.Join(dir, "sock")
	startUntil(t, ipnCmd(t, append([]string{"sock", path, "--listen", file}, args...)...), "said it listens",
		func(out string) bool { return strings.Contains(out, "listening on") })
	return file
}

// openDir makes a directory, removed at the test's end, that any user may
// enter: t.TempDir's are for the owner alone.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ipn-sock-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// goNode connects a node of the test to the network at path.
func goNode(t *testing.T, path string) *ipn.Node {
	t.Helper()
	n := ipn.NewNode(ipn.Any)
	if err := n.Connect(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	n.SetReadDeadline(time.Now().Add(time.Minute))
	return n
}

// recvSizes receives messages of sizes from n and checks them against
// sockPayload.
func recvSizes(t *testing.T, n *ipn.Node, sizes []int) {
	t.Helper()
	buf := make([]byte, 65536)
	for k, size := range sizes {
		m, err := n.Recv(buf)
		if err != nil {
			t.Fatalf("message %d of %d bytes: %v", k, size, err)
		}
		if want := sockPayload(size, k); !bytes.Equal(buf[:m], want) {
			t.Fatalf("message %d: %d bytes %q..., want %d bytes", k, m, buf[:min(m, 40)], size)
		}
	}
}

func sizesText(sizes []int) string {
	var s []string
	for _, n := range sizes {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ",")
}

// sockPort is the port of the network at path that ipn sock made for the
// process pid, or nil while there is none.
func sockPort(t *testing.T, path string, pid int) (*ipn.PortInfo, ipn.NetInfo) {
	t.Helper()
	info, ports, err := ipn.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if strings.HasPrefix(p.Descr, fmt.Sprintf("sock pid %d ", pid)) {
			return &p, info
		}
	}
	return nil, info
}

// waitSockPort waits until ok holds for the port of pid (nil: none).
func waitSockPort(t *testing.T, path string, pid int, what string, ok func(*ipn.PortInfo, ipn.NetInfo) bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p, info := sockPort(t, path, pid)
		if ok(p, info) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the port of pid %d never %s: %+v, network %+v", pid, what, p, info)
		}
	}
}

var sockSizes = []int{1, 2, 63, 64, 100, 1000, 1499, 1513, 1514}

// TestSockPython: a Python program on ipn sock's socket sends and receives
// messages of many sizes up to the MTU, each one packet, boundaries kept,
// and sees a message pending with poll, select and epoll exactly when one
// is.
func TestSockPython(t *testing.T) {
	path := newNet(t, "--lossless", "--pool", "64")
	sock := serveSockFile(t, path)
	g := goNode(t, path)
	py := startPeer(t, sock, nil)

	py.must("send "+sizesText(sockSizes), "sent")
	recvSizes(t, g, sockSizes)

	py.must("pending", "pending no")
	for k, n := range sockSizes {
		if err := g.Send(sockPayload(n, k)); err != nil {
			t.Fatal(err)
		}
	}
	py.must("recv "+sizesText(sockSizes), "recv ok")
	py.must("pending", "pending no")
	if err := g.Send(sockPayload(7, 0)); err != nil {
		t.Fatal(err)
	}
	py.must("recv 7", "recv ok")
}

// TestSockTooLong: a message longer than the MTU ends that connection with
// a reason (its last message, EMSGSIZE, then end-of-file; its sends fail
// with EPIPE); another connection carries on.
func TestSockTooLong(t *testing.T) {
	path := newNet(t, "--lossless", "--pool", "64", "--mtu", "1000")
	sock := serveSockFile(t, path)
	g := goNode(t, path)
	good := startPeer(t, sock, nil)
	good.must("send 1000", "sent")
	recvSizes(t, g, []int{1000})
	bad := startPeer(t, sock, nil)

	bad.must("send 1001", "sent")
	if r := bad.do("raw"); !strings.HasPrefix(r, "raw ") || !strings.Contains(r, "IPN-SOCK/1 error EMSGSIZE") || !strings.Contains(r, "MTU (1000 bytes)") {
		t.Errorf("after a message over the MTU the connection got %q, want the reason (EMSGSIZE)", r)
	}
	bad.must("raw", "raw 0 ")
	bad.must("send 1", "error EPIPE")
	waitSockPort(t, path, bad.cmd.Process.Pid, "went", func(p *ipn.PortInfo, _ ipn.NetInfo) bool { return p == nil })

	good.must("send 10,1000", "sent")
	recvSizes(t, g, []int{10, 1000})
	if err := g.Send(sockPayload(999, 0)); err != nil {
		t.Fatal(err)
	}
	good.must("recv 999", "recv ok")
}

// TestSockShutdown: the peer's shutdown of a half drops its node's role
// and changes the network's counts of readers and writers.
func TestSockShutdown(t *testing.T) {
	path := newNet(t, "--lossless", "--pool", "64")
	sock := serveSockFile(t, path)
	g := goNode(t, path) // one reader and one writer
	wr, rd := startPeer(t, sock, nil), startPeer(t, sock, nil)
	for _, p := range []*pyPeer{wr, rd} {
		waitSockPort(t, path, p.cmd.Process.Pid, "was rw", func(p *ipn.PortInfo, _ ipn.NetInfo) bool { return p != nil && p.Read && p.Write })
	}
	counts := func(readers, writers int) func(*ipn.PortInfo, ipn.NetInfo) bool {
		return func(_ *ipn.PortInfo, n ipn.NetInfo) bool { return n.Readers == readers && n.Writers == writers }
	}
	waitSockPort(t, path, wr.cmd.Process.Pid, "counted", counts(3, 3))

	// SHUT_WR: receive-only, one writer less.
	wr.must("shut wr", "shut")
	waitSockPort(t, path, wr.cmd.Process.Pid, "became receive-only", func(p *ipn.PortInfo, n ipn.NetInfo) bool {
		return p != nil && p.Read && !p.Write && n.Readers == 3 && n.Writers == 2
	})
	wr.must("send 5", "error EPIPE")
	// SHUT_RD: the gateway learns of it with the next message for the
	// peer, and the node becomes send-only.
	rd.must("shut rd", "shut")
	if err := g.Send(sockPayload(5, 0)); err != nil {
		t.Fatal(err)
	}
	waitSockPort(t, path, rd.cmd.Process.Pid, "became send-only", func(p *ipn.PortInfo, n ipn.NetInfo) bool {
		return p != nil && !p.Read && p.Write && n.Readers == 2 && n.Writers == 2
	})
	wr.must("recv 5", "recv ok")
	rd.must("send 40", "sent")
	recvSizes(t, g, []int{40})
	// The receive-only peer's other half: nothing is left, the port goes.
	wr.must("shut rd", "shut")
	waitSockPort(t, path, wr.cmd.Process.Pid, "went", func(p *ipn.PortInfo, n ipn.NetInfo) bool {
		return p == nil && n.Readers == 1 && n.Writers == 2
	})
}

// TestSockHello: with --hello, a connection's first message sets its
// description and what its sends do in a full lossless network: drop, or
// wait.
func TestSockHello(t *testing.T) {
	path := newNet(t, "--lossless", "--pool", "4")
	sock := serveSockFile(t, path, "--hello")
	g := goNode(t, path)

	bad := startPeer(t, sock, nil)
	if r := bad.do(`hello IPN-SOCK/1\nsend=sometimes`); !strings.HasPrefix(r, "reply IPN-SOCK/1 error EINVAL") {
		t.Errorf("a malformed hello got %q, want an EINVAL error", r)
	}
	bad.must("raw", "raw 0 ")

	drop := startPeer(t, sock, nil)
	if r := drop.do(`hello IPN-SOCK/1\ndescr=python drops\nsend=drop`); !strings.HasPrefix(r, "reply IPN-SOCK/1 ok port=") || !strings.HasSuffix(r, " roles=rw mtu=1514") {
		t.Fatalf("hello got %q", r)
	}
	_, ports, err := ipn.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	described := false
	for _, p := range ports {
		described = described || p.Descr == "python drops"
	}
	if !described {
		t.Errorf("no port is described as the hello said: %+v", ports)
	}
	// g does not read: the pool of 4 fills, the rest is dropped, and the
	// Python peer never waits.
	sizes := make([]int, 20)
	for i := range sizes {
		sizes[i] = 100 + i
	}
	drop.must("send "+sizesText(sizes), "sent")
	// The gateway has passed each one on, or dropped it (a send that found
	// no room: blocked), when the counts say so.
	var sent uint64
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		_, ports, err := ipn.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		var p ipn.PortInfo
		for _, p = range ports {
			if p.Descr == "python drops" {
				break
			}
		}
		if sent = p.Sent; p.Sent+p.Blocked == uint64(len(sizes)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway never passed on or dropped all %d messages: %+v", len(sizes), p)
		}
	}
	buf := make([]byte, 2000)
	got := 0
	for ; ; got++ {
		k, err := g.TryRecv(buf)
		if errors.Is(err, ipn.ErrAgain) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := sockPayload(sizes[got], got); !bytes.Equal(buf[:k], want) {
			t.Fatalf("message %d: %d bytes, want the %d-byte message sent %d-th", got, k, len(want), got)
		}
	}
	if got == 0 || got == len(sizes) || uint64(got) != sent {
		t.Errorf("%d of %d messages reached a receiver that did not read, %d sent; want some dropped, not all", got, len(sizes), sent)
	}

	// send=wait: the peer's sends wait for g to read; every one arrives.
	wait := startPeer(t, sock, nil)
	if r := wait.do(`hello IPN-SOCK/1\nsend=wait`); !strings.HasPrefix(r, "reply IPN-SOCK/1 ok") {
		t.Fatalf("hello got %q", r)
	}
	if _, err := io.WriteString(wait.in, "send "+sizesText(sizes)+"\n"); err != nil {
		t.Fatal(err)
	}
	recvSizes(t, g, sizes)
	if r := wait.line(); r != "sent" {
		t.Errorf("send with send=wait: %q", r)
	}
}

// TestSockSocat: socat, a program that knows nothing of ipn, sends a file
// through ipn sock as packets of its block size, and receives messages
// into datagrams, boundaries kept both ways.
func TestSockSocat(t *testing.T) {
	needSocat(t)
	path := newNet(t, "--lossless", "--pool", "64")
	sock := serveSockFile(t, path)
	g := goNode(t, path)
	data := sockPayload(1000, 3)
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("socat", "-b", "300", "-u", "FILE:"+file, "UNIX-CONNECT:"+sock+",type=5").CombinedOutput(); err != nil {
		t.Fatalf("socat: %v: %s", err, out)
	}
	buf := make([]byte, 2000)
	for at, size := 0, 300; at < len(data); at += size {
		size = min(300, len(data)-at)
		k, err := g.Recv(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf[:k], data[at:at+size]) {
			t.Fatalf("socat's packet at %d: %d bytes, want %d", at, k, size)
		}
	}

	// The other way: socat turns each message it receives into a
	// datagram to a socket of the test.
	dg := filepath.Join(t.TempDir(), "dgram")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dg, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	socat := exec.Command("socat", "-u", "UNIX-CONNECT:"+sock+",type=5", "UNIX-SENDTO:"+dg)
	out := &netns.Buffer{}
	socat.Stdout, socat.Stderr = out, out
	if err := socat.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { socat.Process.Kill(); socat.Wait() })
	waitSockPort(t, path, socat.Process.Pid, "joined", func(p *ipn.PortInfo, _ ipn.NetInfo) bool { return p != nil })
	sizes := []int{1, 700, 1514, 64}
	for k, n := range sizes {
		if err := g.Send(sockPayload(n, k)); err != nil {
			t.Fatal(err)
		}
	}
	ln.SetReadDeadline(time.Now().Add(time.Minute))
	for k, n := range sizes {
		m, err := ln.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v (socat: %s)", k, err, out.String())
		}
		if !bytes.Equal(buf[:m], sockPayload(n, k)) {
			t.Fatalf("datagram %d: %d bytes, want %d", k, m, n)
		}
	}
}

// TestSockOtherUser: a process of another uid gets the roles its own
// permissions on the network's file give, not the gateway's (root's):
// read only, and its sends fail; write only, and it reads end-of-file;
// neither, and it is refused with EACCES.
func TestSockOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs a peer as another uid")
	}
	needPython(t)
	path := filepath.Join(openDir(t), "net")
	mustIPN(t, nil, "create", path, "--lossless", "--pool", "64", "--mode", "0644")
	t.Cleanup(func() { runIPN(t, nil, "destroy", path) })
	sock := serveSockFile(t, path)
	g := goNode(t, path)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}

	// r--: receive only.
	must(t, os.Chmod(path, 0o644))
	r := startPeer(t, sock, nobody)
	waitSockPort(t, path, r.cmd.Process.Pid, "was read-only", func(p *ipn.PortInfo, _ ipn.NetInfo) bool {
		return p != nil && p.Read && !p.Write && strings.HasSuffix(p.Descr, " uid 65534")
	})
	r.must("send 10", "error EPIPE")
	if err := g.Send(sockPayload(10, 0)); err != nil {
		t.Fatal(err)
	}
	r.must("recv 10", "recv ok")

	// -w-: send only.
	must(t, os.Chmod(path, 0o602))
	w := startPeer(t, sock, nobody)
	w.must("raw", "raw 0 ")
	w.must("send 20", "sent")
	recvSizes(t, g, []int{20})
	if p, _ := sockPort(t, path, w.cmd.Process.Pid); p == nil || p.Read || !p.Write {
		t.Errorf("the write-only peer's port: %+v, want send-only", p)
	}

	// ---: refused.
	must(t, os.Chmod(path, 0o600))
	none := startPeer(t, sock, nobody)
	if got := none.do("raw"); !strings.Contains(got, "IPN-SOCK/1 error EACCES") {
		t.Errorf("a peer with no permission got %q, want EACCES", got)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
