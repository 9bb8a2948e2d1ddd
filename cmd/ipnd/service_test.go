package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/internal/fdpass"
	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/wire"
)

// ipnd as a service: idle exit, exhaustion, socket activation, readiness,
// and a socket for one group.

// daemonProc is an ipnd child: the test binary run as ipnd (see TestMain).
type daemonProc struct {
	cmd    *exec.Cmd
	stderr *netns.Buffer // read while it runs
	done   chan error    // gets Wait's result once it exits
}

// runDaemon starts ipnd serving sock with args, env added to its
// environment, and points this process's client at it.
func runDaemon(t *testing.T, sock string, env []string, args ...string) *daemonProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--socket", sock}, args...)...)
	cmd.Env = append(append(os.Environ(), "IPND_TEST_DAEMON=1"), env...)
	return startDaemon(t, cmd, sock)
}

func startDaemon(t *testing.T, cmd *exec.Cmd, sock string) *daemonProc {
	t.Helper()
	d := &daemonProc{cmd: cmd, stderr: &netns.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = d.stderr // Wait returns once all of it is copied
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
		}
	})
	t.Setenv(wire.EnvSocket, sock)
	t.Setenv(ipn.EnvNoAutostart, "1")
	return d
}

// answers waits until a list request on sock is answered.
func answers(t *testing.T, sock string) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err = rawList(sock); err == nil {
			return
		}
	}
	t.Fatalf("no coordinator answers at %s: %v", sock, err)
}

// rawList sends a list request on a connection of its own, with a
// deadline, and returns the answer's error, or the exchange's.
func rawList(sock string) (answer, err error) {
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	return listOn(c)
}

// listOn sends a list request on c and returns the answer's error, or the
// exchange's.
func listOn(c *net.UnixConn) (answer, err error) {
	b, _ := wire.EncodeRequest(&wire.Request{Op: wire.OpList})
	if err := fdpass.Send(c, b); err != nil {
		return nil, err
	}
	buf := make([]byte, wire.MaxMessage)
	n, fds, err := fdpass.Recv(c, buf)
	for _, fd := range fds {
		unix.Close(fd)
	}
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("connection closed with no answer")
	}
	resp, err := wire.DecodeResponse(buf[:n])
	if err != nil {
		return nil, err
	}
	return resp.Err(), nil
}

// exited waits up to within for the daemon to exit by itself.
func (d *daemonProc) exited(within time.Duration) (error, bool) {
	if within == 0 {
		select {
		case err := <-d.done:
			return err, true
		default:
			return nil, false
		}
	}
	select {
	case err := <-d.done:
		return err, true
	case <-time.After(within):
		return nil, false
	}
}

// TestIdleExit: with --idle-exit, a coordinator with no network and no
// member exits; one with a network, or a member, stays.
func TestIdleExit(t *testing.T) {
	t.Run("no network", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "ipnd.sock")
		d := runDaemon(t, sock, nil, "--idle-exit", "200ms")
		answers(t, sock)
		err, ok := d.exited(20 * time.Second)
		if !ok {
			t.Fatal("ipnd --idle-exit 200ms with nothing to serve still runs after 20s")
		}
		if err != nil {
			t.Fatalf("ipnd exit: %v\n%s", err, d.stderr)
		}
		if _, err := os.Lstat(sock); !os.IsNotExist(err) {
			t.Errorf("socket %s left behind after idle exit (%v)", sock, err)
		}
	})
	t.Run("network and member", func(t *testing.T) {
		dir := t.TempDir()
		sock := filepath.Join(dir, "ipnd.sock")
		d := runDaemon(t, sock, nil, "--idle-exit", "200ms")
		path := filepath.Join(dir, "net")
		answers(t, sock)
		if err := ipn.Create(path, ipn.Hub, ipn.Options{NumNodes: 2}); err != nil {
			t.Fatal(err)
		}
		if _, ok := d.exited(2 * time.Second); ok {
			t.Fatalf("ipnd exited with a network to serve:\n%s", d.stderr)
		}
		// A member alone keeps it too: the network goes, the member's
		// connection stays.
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
		if err != nil {
			t.Fatal(err)
		}
		if err := ipn.Destroy(path); err != nil {
			t.Fatal(err)
		}
		if _, ok := d.exited(2 * time.Second); ok {
			t.Fatalf("ipnd exited while a member was connected:\n%s", d.stderr)
		}
		c.Close()
		if _, ok := d.exited(20 * time.Second); !ok {
			t.Fatal("ipnd still runs 20s after its last network and member went")
		}
	})
	t.Run("zero keeps it", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "ipnd.sock")
		d := runDaemon(t, sock, []string{wire.EnvIdleExit + "=100ms"}, "--idle-exit", "0")
		answers(t, sock)
		if _, ok := d.exited(2 * time.Second); ok {
			t.Fatalf("ipnd --idle-exit 0 exited:\n%s", d.stderr)
		}
	})
}

// TestAutostartIdle: the coordinator a client starts on demand has an idle
// exit of its own, so it does not stay once its work is done.
func TestAutostartIdle(t *testing.T) {
	if wire.AutostartIdle <= 0 || wire.AutostartIdle > time.Minute {
		t.Errorf("AutostartIdle = %v, want at most a minute", wire.AutostartIdle)
	}
	t.Setenv(ipn.EnvNoAutostart, "")
	var started *exec.Cmd
	old := ipn.DaemonCommand
	ipn.DaemonCommand = func(socket string) *exec.Cmd {
		started = exec.Command(os.Args[0], "-test.run=^$", "--socket", socket)
		started.Env = append(os.Environ(), "IPND_TEST_DAEMON=1")
		return started
	}
	t.Cleanup(func() { ipn.DaemonCommand = old })
	autostart := func(t *testing.T) *exec.Cmd {
		t.Helper()
		started = nil
		t.Setenv(wire.EnvSocket, filepath.Join(t.TempDir(), "ipnd.sock"))
		if _, err := ipn.List(); err != nil {
			t.Fatalf("list through an autostarted coordinator: %v", err)
		}
		if started == nil {
			t.Fatal("no coordinator was started")
		}
		cmd := started
		t.Cleanup(func() { cmd.Process.Kill() })
		return cmd
	}
	t.Run("default", func(t *testing.T) {
		os.Unsetenv(wire.EnvIdleExit)
		cmd := autostart(t)
		want := wire.EnvIdleExit + "=" + wire.AutostartIdle.String()
		if !slices.Contains(cmd.Env, want) {
			t.Errorf("the autostarted coordinator's environment lacks %s", want)
		}
	})
	t.Run("the user's", func(t *testing.T) {
		t.Setenv(wire.EnvIdleExit, "300ms")
		cmd := autostart(t)
		// The client reaps it (cmd.Wait in a goroutine of its own):
		// watch the process.
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if cmd.Process.Signal(syscall.Signal(0)) != nil {
				return
			}
		}
		t.Fatal("the autostarted coordinator still runs 20s after its client left")
	})
}

// TestExhaustion runs ipnd with RLIMIT_NOFILE lowered and drives it out of
// descriptors: a network too many is refused with EMFILE, members it
// cannot accept are told EMFILE, and once descriptors are freed it serves
// again.
func TestExhaustion(t *testing.T) {
	const limit = 200
	dir := t.TempDir()
	sock := filepath.Join(dir, "ipnd.sock")
	d := runDaemon(t, sock, []string{"IPND_TEST_NOFILE=" + strconv.Itoa(limit)})
	answers(t, sock)
	fds := func() int {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid))
		return len(ents)
	}
	t.Logf("ipnd with RLIMIT_NOFILE %d holds %d descriptors before any network", limit, fds())

	// Networks until one is refused.
	var nets []string
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		p := filepath.Join(dir, fmt.Sprintf("net%d", i))
		if err = ipn.Create(p, ipn.Hub, ipn.Options{NumNodes: 2}); err == nil {
			nets = append(nets, p)
		}
	}
	var eno syscall.Errno
	errors.As(err, &eno)
	t.Logf("after %d networks ipnd holds %d descriptors; the next create: %s: %v", len(nets), fds(), unix.ErrnoName(eno), err)
	if !errors.Is(err, syscall.EMFILE) {
		t.Errorf("create past the descriptor limit: %v, want EMFILE", err)
	}
	if len(nets) == 0 {
		t.Fatal("no network fitted in the limit")
	}

	// Connections until the coordinator cannot accept one.
	var conns []*net.UnixConn
	var refused error
	for i := 0; i < limit && refused == nil; i++ {
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		conns = append(conns, c)
		answer, err := listOn(c)
		switch {
		case err != nil:
			refused = fmt.Errorf("connection %d: no answer: %w", i, err)
		case answer != nil:
			refused = answer
		}
	}
	t.Logf("after %d connections ipnd holds %d descriptors; the last got: %v", len(conns), fds(), refused)
	if !errors.Is(refused, syscall.EMFILE) {
		t.Errorf("a member past the descriptor limit got %v, want an answer with EMFILE", refused)
	}
	// A burst of members at once, so that accept itself meets EMFILE
	// while the connections it took are still being refused: it backs
	// off and answers the next member EMFILE from a descriptor it keeps
	// in reserve.
	burst := make([]*net.UnixConn, 100)
	for i := range burst {
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
		if err != nil {
			t.Fatalf("burst connection %d: %v", i, err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		burst[i] = c
	}
	emfile := 0
	for _, c := range burst {
		if answer, err := listOn(c); errors.Is(answer, syscall.EMFILE) {
			emfile++
		} else if err != nil {
			t.Errorf("a member of the burst got no answer: %v", err)
		}
		c.Close()
	}
	t.Logf("a burst of %d members: %d told EMFILE", len(burst), emfile)
	if emfile == 0 {
		t.Errorf("no member of the burst was told EMFILE")
	}
	for _, c := range conns {
		c.Close()
	}

	// Descriptors freed: it serves again, joins and new networks alike.
	answers(t, sock)
	n := ipn.NewNode(ipn.Hub)
	defer n.Close()
	if err := n.Connect(nets[0]); err != nil {
		t.Errorf("join after descriptors were freed: %v", err)
	}
	n.Close()
	for _, p := range nets {
		ipn.Destroy(p)
	}
	p := filepath.Join(dir, "again")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err = ipn.Create(p, ipn.Hub, ipn.Options{NumNodes: 2}); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Errorf("create after the networks were destroyed: %v", err)
	}
	if _, ok := d.exited(0); ok {
		t.Fatalf("ipnd exited:\n%s", d.stderr)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.exited(10 * time.Second)
	log := d.stderr.String()
	if !strings.Contains(log, "accept: backing off") || !strings.Contains(log, "accept: serving again") {
		t.Errorf("the accept loop did not meet the limit and recover; ipnd's log:\n%s", log)
	}
}

// TestReadiness: ipnd tells systemd it is ready (READY=1 on
// $NOTIFY_SOCKET) once its socket answers.
func TestReadiness(t *testing.T) {
	dir := t.TempDir()
	notify := filepath.Join(dir, "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sock := filepath.Join(dir, "ipnd.sock")
	runDaemon(t, sock, []string{"NOTIFY_SOCKET=" + notify})
	l.SetDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 4096)
	k, _, err := l.ReadFromUnix(buf)
	if err != nil {
		t.Fatalf("no notification on NOTIFY_SOCKET: %v", err)
	}
	if got := string(buf[:k]); !strings.Contains(got, "READY=1") {
		t.Fatalf("notification %q, want READY=1", got)
	}
	// Ready means serving: no retry here.
	if answer, err := rawList(sock); err != nil || answer != nil {
		t.Fatalf("list right after READY=1: %v, %v", answer, err)
	}
}

// TestSocketActivation runs ipnd under systemd-socket-activate, which
// listens itself and passes the socket in (LISTEN_FDS), as systemd does
// with ipnd.socket.
func TestSocketActivation(t *testing.T) {
	bin, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("needs systemd-socket-activate (Debian package systemd)")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "ipnd.sock")
	cmd := exec.Command(bin, "--seqpacket", "--listen="+sock, "-E", "IPND_TEST_DAEMON=1", os.Args[0], "-test.run=^$")
	startDaemon(t, cmd, sock)
	path := filepath.Join(dir, "net")
	var cerr error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cerr = ipn.Create(path, ipn.Hub, ipn.Options{NumNodes: 2}); cerr == nil {
			break
		}
	}
	if cerr != nil {
		t.Fatalf("create through a socket-activated ipnd: %v", cerr)
	}
	nets, err := ipn.List()
	if err != nil || len(nets) != 1 || nets[0].Path != path {
		t.Fatalf("list = %+v, %v; want the one network", nets, err)
	}
}

// TestGroupSocket: ipnd --group NAME serves a socket of mode 0660 owned
// by that group; a user outside it is told the coordinator is not
// reachable, and is not sent off to start one of its own; a member of the
// group gets in.
func TestGroupSocket(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: clients run under other uids and gids")
	}
	const (
		gid   = 4302 // the coordinator's group
		uid   = 4303
		other = 4399 // a group that is not it
	)
	dir, err := os.MkdirTemp("", "ipnd-group-") // reachable by the clients
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "run", "ipnd.sock")
	runDaemon(t, sock, nil, "--group", strconv.Itoa(gid))
	answers(t, sock)
	var st syscall.Stat_t
	if err := syscall.Stat(sock, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o777 != 0o660 || st.Gid != gid {
		t.Errorf("socket mode %04o group %d, want 0660 group %d", st.Mode&0o777, st.Gid, gid)
	}
	bin := filepath.Join(dir, "ipnd.test")
	copyFile(t, os.Args[0], bin)
	client := func(groups []uint32) string {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), "IPND_TEST_CLIENT=list", ipn.EnvNoAutostart+"=")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: other, Groups: groups}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("client as uid %d: %v\n%s", uid, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	out := client(nil)
	t.Logf("uid %d outside group %d: %s", uid, gid, out)
	if !strings.HasPrefix(out, "list EACCES ") || !strings.Contains(out, "not reachable by uid") {
		t.Errorf("uid %d outside group %d: %q, want EACCES saying the coordinator is not reachable", uid, gid, out)
	}
	if strings.Contains(out, "ipnd.log") {
		t.Errorf("uid %d outside group %d was sent to start a coordinator: %q", uid, gid, out)
	}
	if out := client([]uint32{gid}); out != "list ok" {
		t.Errorf("uid %d in group %d: %q, want list ok", uid, gid, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// clientRole runs what IPND_TEST_CLIENT names, as a client of the
// coordinator at $IPN_COORDINATOR, and prints its result.
func clientRole(role string) {
	switch role {
	case "list":
		if _, err := ipn.List(); err != nil {
			var e syscall.Errno
			errors.As(err, &e)
			fmt.Printf("list %s %v\n", unix.ErrnoName(e), err)
			return
		}
		fmt.Println("list ok")
	default:
		fmt.Println("no client role", role)
	}
}

// TestUnits checks the systemd units in dist/systemd: each socket listens
// where clients look (the system socket, and $XDG_RUNTIME_DIR's for a
// user), with SOCK_SEQPACKET, and each service is Type=notify; and, where
// systemd-analyze is installed, systemd accepts them (verify).
func TestUnits(t *testing.T) {
	for _, u := range []struct{ scope, listen, binary string }{
		{"system", wire.SystemSocket, "/usr/local/bin/ipnd"},
		{"user", "%t/ipn/ipnd.sock", "%h/go/bin/ipnd"},
	} {
		t.Run(u.scope, func(t *testing.T) {
			dir := filepath.Join("..", "..", "dist", "systemd", u.scope)
			sock, err := os.ReadFile(filepath.Join(dir, "ipnd.socket"))
			if err != nil {
				t.Fatal(err)
			}
			svc, err := os.ReadFile(filepath.Join(dir, "ipnd.service"))
			if err != nil {
				t.Fatal(err)
			}
			if want := "\nListenSequentialPacket=" + u.listen + "\n"; !strings.Contains(string(sock), want) {
				t.Errorf("%s ipnd.socket lacks %q", u.scope, strings.TrimSpace(want))
			}
			for _, want := range []string{"\nType=notify\n", "\nExecStart=" + u.binary} {
				if !strings.Contains(string(svc), want) {
					t.Errorf("%s ipnd.service lacks %q", u.scope, strings.TrimSpace(want))
				}
			}
			analyze, err := exec.LookPath("systemd-analyze")
			if err != nil {
				t.Skip("systemd-analyze not installed (Debian package systemd): units not verified")
			}
			// verify wants the program to exist: name one that does.
			tmp := t.TempDir()
			os.WriteFile(filepath.Join(tmp, "ipnd.socket"), sock, 0o644)
			os.WriteFile(filepath.Join(tmp, "ipnd.service"), []byte(strings.ReplaceAll(string(svc), u.binary, os.Args[0])), 0o644)
			args := []string{"verify", filepath.Join(tmp, "ipnd.socket"), filepath.Join(tmp, "ipnd.service")}
			cmd := exec.Command(analyze, args...)
			if u.scope == "user" {
				cmd.Args = append([]string{analyze, "--user"}, args...)
				rt := filepath.Join(tmp, "runtime")
				os.Mkdir(rt, 0o700)
				cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+rt)
			}
			if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("systemd-analyze verify of the %s units: %v\n%s", u.scope, err, out)
			}
		})
	}
}
