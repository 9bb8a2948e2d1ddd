package coordinator

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A status text as the kernel writes it, with the Groups line left to fill.
const statusHead = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t4242\nPid:\t4242\n" +
	"Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t256\n"
const statusTail = "NStgid:\t4242\nNSpid:\t4242\nVmPeak:\t    5736 kB\n"

func TestParseGroups(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		want   []uint32
		ok     bool
	}{
		{"empty", statusHead + "Groups:\t\n" + statusTail, []uint32{}, true},
		{"empty with space", statusHead + "Groups:\t \n" + statusTail, []uint32{}, true},
		{"one", statusHead + "Groups:\t27 \n" + statusTail, []uint32{27}, true},
		{"several", statusHead + "Groups:\t4 24 27 30 46 100 118 1000 \n" + statusTail,
			[]uint32{4, 24, 27, 30, 46, 100, 118, 1000}, true},
		{"largest id", "Groups:\t0 4294967295\n", []uint32{0, 4294967295}, true},
		{"last line, no newline", statusHead + "Groups:\t5 6", []uint32{5, 6}, true},
		{"missing line", statusHead + statusTail, nil, false},
		{"empty text", "", nil, false},
		{"indented line is not the line", " Groups:\t5\n", nil, false},
		{"two lines", "Groups:\t5\nGroups:\t6\n", nil, false},
		{"negative", "Groups:\t-1\n", nil, false},
		{"too large", "Groups:\t4294967296\n", nil, false},
		{"hex", "Groups:\t0x10\n", nil, false},
		{"letters", "Groups:\tadm wheel\n", nil, false},
		{"comma", "Groups:\t4,24\n", nil, false},
		{"carriage return", "Groups:\t4\r\n", nil, false},
		{"plus sign", "Groups:\t+4\n", nil, false},
		{"garbage", "\x00\xff\xfeGroups:\t\x00\x01\n", nil, false},
		{"garbage on the line", "Groups:\t\x00\x01\n", nil, false},
	} {
		got, err := parseGroups([]byte(tc.status))
		if !tc.ok {
			if err == nil {
				t.Errorf("%s: parseGroups = %v, nil; want an error", tc.name, got)
			} else if !errors.Is(err, errStatus) {
				t.Errorf("%s: parseGroups error %v does not wrap errStatus", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: parseGroups: %v", tc.name, err)
			continue
		}
		if got == nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: parseGroups = %#v, want %#v", tc.name, got, tc.want)
		}
	}
}

func TestParseGroupsLongFieldError(t *testing.T) {
	_, err := parseGroups([]byte("Groups:\t" + strings.Repeat("9x", 10000) + "\n"))
	if err == nil {
		t.Fatal("parseGroups accepted a bad field")
	}
	if n := len(err.Error()); n > 120 {
		t.Errorf("error message is %d bytes, want it short: %.200s", n, err)
	}
}

func TestGroupsOfNoProcess(t *testing.T) {
	for _, pid := range []int{0, -1} {
		if g, err := groupsOf(pid); err == nil {
			t.Errorf("groupsOf(%d) = %v, nil; want an error", pid, g)
		}
	}
}

// TestPeerCredsSocketpair reads this process's own credentials back through
// a socketpair made here.
func TestPeerCredsSocketpair(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	f := os.NewFile(uintptr(fds[0]), "socketpair")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	got, err := PeerCreds(c.(*net.UnixConn))
	if err != nil {
		t.Fatalf("PeerCreds: %v", err)
	}
	if got.PID != os.Getpid() {
		t.Errorf("PID = %d, want %d", got.PID, os.Getpid())
	}
	if got.UID != uint32(os.Getuid()) {
		t.Errorf("UID = %d, want %d", got.UID, os.Getuid())
	}
	if got.GID != uint32(os.Getgid()) {
		t.Errorf("GID = %d, want %d", got.GID, os.Getgid())
	}
	ids, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]uint32, len(ids))
	for i, g := range ids {
		want[i] = uint32(g)
	}
	if !sameSet(got.Groups, want) {
		t.Errorf("Groups = %v, want %v (as a set)", got.Groups, want)
	}
}

// sameSet reports whether a and b hold the same ids, in any order.
func sameSet(a, b []uint32) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// Environment of the helper process started by the tests below.
const (
	helperModeEnv = "IPN_COORDINATOR_CREDS_HELPER"
	helperAddrEnv = "IPN_COORDINATOR_CREDS_ADDR"
)

// TestCredsHelperProcess is not a test: re-executed by the tests below with
// helperModeEnv set, it connects to the socket at helperAddrEnv and sends one
// byte; in mode "stay" it then waits for the other end to close, in mode
// "exit" it exits at once.
func TestCredsHelperProcess(t *testing.T) {
	mode := os.Getenv(helperModeEnv)
	if mode == "" {
		return
	}
	c, err := net.Dial("unix", os.Getenv(helperAddrEnv))
	if err != nil {
		os.Stderr.WriteString("helper: " + err.Error() + "\n")
		os.Exit(2)
	}
	if _, err := c.Write([]byte{1}); err != nil {
		os.Stderr.WriteString("helper: " + err.Error() + "\n")
		os.Exit(2)
	}
	if mode == "stay" {
		io.Copy(io.Discard, c)
	}
	os.Exit(0)
}

// startHelper starts the helper in mode with credentials cred (nil: this
// process's), and returns the connection it made and the running command.
func startHelper(t *testing.T, mode string, cred *syscall.Credential) (*net.UnixConn, *exec.Cmd) {
	t.Helper()
	addr := t.TempDir() + "/ctl"
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCredsHelperProcess$", "-test.count=1")
	// atexit_sleep_ms: a race-enabled helper would otherwise idle a second
	// at exit.
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperAddrEnv+"="+addr,
		"GORACE=atexit_sleep_ms=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})

	ln.SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.AcceptUnix()
	if err != nil {
		t.Fatalf("accept: %v (helper said %q)", err, out.String())
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
		t.Fatalf("read from helper: %v (helper said %q)", err, out.String())
	}
	return conn, cmd
}

// TestPeerCredsOtherProcess checks the credentials of a real member process:
// the ids must be the ones the kernel gave it, not this process's.
func TestPeerCredsOtherProcess(t *testing.T) {
	for _, tc := range []struct {
		name string
		cred *syscall.Credential // nil: run as this process
		root bool
	}{
		{"same ids", nil, false},
		{"other gid and groups", &syscall.Credential{
			Uid: 0, Gid: 4242, Groups: []uint32{4243, 4244, 4245}}, true},
		{"no supplementary groups", &syscall.Credential{
			Uid: 0, Gid: 4242, Groups: []uint32{}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Getuid() != 0 {
				t.Skip("setting another process's groups needs root")
			}
			conn, cmd := startHelper(t, "stay", tc.cred)
			got, err := PeerCreds(conn)
			if err != nil {
				t.Fatalf("PeerCreds: %v", err)
			}
			want := Creds{PID: cmd.Process.Pid, UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
			if tc.cred != nil {
				want.UID, want.GID, want.Groups = tc.cred.Uid, tc.cred.Gid, tc.cred.Groups
			} else {
				ids, err := os.Getgroups()
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range ids {
					want.Groups = append(want.Groups, uint32(g))
				}
			}
			if got.PID != want.PID || got.UID != want.UID || got.GID != want.GID {
				t.Errorf("PeerCreds = pid %d uid %d gid %d, want pid %d uid %d gid %d",
					got.PID, got.UID, got.GID, want.PID, want.UID, want.GID)
			}
			if !sameSet(got.Groups, want.Groups) {
				t.Errorf("Groups = %v, want %v (as a set)", got.Groups, want.Groups)
			}
			conn.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("helper: %v", err)
			}
		})
	}
}

// TestPeerCredsPeerGone checks that a member that has exited, and been
// reaped, before the coordinator looks at it is refused with an error that
// says why.
func TestPeerCredsPeerGone(t *testing.T) {
	conn, cmd := startHelper(t, "exit", nil)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	got, err := PeerCreds(conn)
	if err == nil {
		t.Fatalf("PeerCreds of a reaped peer = %+v, nil; want an error", got)
	}
	t.Logf("PeerCreds of a reaped peer: %v", err)
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.EINVAL) {
		t.Errorf("PeerCreds error %v wraps neither ENOENT, ESRCH nor EINVAL", err)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("PeerCreds error %q does not name pid %d", err, cmd.Process.Pid)
	}
}

func FuzzParseGroups(f *testing.F) {
	for _, s := range []string{
		statusHead + "Groups:\t\n" + statusTail,
		statusHead + "Groups:\t4 24 27 30 46 100 118 1000 \n" + statusTail,
		statusHead + statusTail,
		"Groups:\t4294967295\n",
		"Groups:\t4294967296\n",
		"Groups:\t5\nGroups:\t6\n",
		"Groups:",
		"",
		"\x00\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, status []byte) {
		groups, err := parseGroups(status)
		if err != nil {
			return
		}
		// What parses must survive being written back the kernel's way.
		var b strings.Builder
		b.WriteString("Groups:\t")
		for _, g := range groups {
			b.WriteString(strconv.FormatUint(uint64(g), 10) + " ")
		}
		again, err := parseGroups([]byte(b.String() + "\n"))
		if err != nil || !slices.Equal(again, groups) {
			t.Errorf("round trip of %v: got %v, %v", groups, again, err)
		}
	})
}
