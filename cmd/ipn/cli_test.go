package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
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

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/coordinator"
	"github.com/ipn-project/ipn/wire"
)

// The tests run the test binary as the ipn command (see TestMain), against
// the coordinator TestMain runs in this process.

// ipnCmd returns the ipn command with args, ready to start.
func ipnCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	// Under the race detector a process sleeps a second before exiting
	// unless told otherwise.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), envCLI+"=1", "GORACE="+gorace)
	return cmd
}

// runIPN runs ipn with args and stdin, and returns its output.
func runIPN(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := ipnCmd(t, args...)
	var o, e bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// mustIPN runs ipn and fails the test if it fails.
func mustIPN(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	out, errOut, err := runIPN(t, stdin, args...)
	if err != nil {
		t.Fatalf("ipn %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func umask(t *testing.T) os.FileMode {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status to read the umask from")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			return os.FileMode(m)
		}
	}
	t.Skip("no umask in /proc/self/status")
	return 0
}

func listJSON(t *testing.T) []netJSON {
	t.Helper()
	var nets []netJSON
	out := mustIPN(t, nil, "ls", "--json")
	if err := json.Unmarshal([]byte(out), &nets); err != nil {
		t.Fatalf("ls --json: %v:\n%s", err, out)
	}
	return nets
}

func statJSON(t *testing.T, path string) statOutput {
	t.Helper()
	var st statOutput
	out := mustIPN(t, nil, "stat", "--json", path)
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stat --json: %v:\n%s", err, out)
	}
	return st
}

func TestCreateListStatDestroy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net")
	mustIPN(t, nil, "create", path, "--mtu", "4000", "--nodes", "4", "--pool", "16", "--lossless", "--mode", "0640")

	wantMode := 0o640 &^ umask(t)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != wantMode {
		t.Errorf("network file: %v, %v; want mode %v", st, err, wantMode)
	}
	want := optsJSON{MTU: 4000, NumNodes: 4, Pool: 16, Lossless: true, Mode: modeText(wantMode)}
	nets := listJSON(t)
	i := slices.IndexFunc(nets, func(n netJSON) bool { return n.Path == path })
	if i < 0 {
		t.Fatalf("ls --json: %s missing from %+v", path, nets)
	}
	if n := nets[i]; n.Opts != want || n.Policy != "hub" || !n.Persistent || n.Ports != 0 {
		t.Errorf("ls --json: got %+v, want hub, persistent, no ports, options %+v", n, want)
	}
	if out := mustIPN(t, nil, "ls"); !strings.Contains(out, path) || !strings.Contains(out, "lossless") {
		t.Errorf("ls: want %s, lossless:\n%s", path, out)
	}

	st := statJSON(t, path)
	if st.Net.Path != path || st.Net.Opts != want || st.Ports == nil || len(st.Ports) != 0 {
		t.Errorf("stat --json: got %+v, want %s with options %+v and no ports", st, path, want)
	}
	if out := mustIPN(t, nil, "stat", path); !strings.Contains(out, path) || !strings.Contains(out, "ports in use 0") {
		t.Errorf("stat: want %s, ports in use 0:\n%s", path, out)
	}

	mustIPN(t, nil, "destroy", path)
	for _, n := range listJSON(t) {
		if n.Path == path {
			t.Errorf("ls --json after destroy: %s still listed: %+v", path, n)
		}
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("network file after destroy: %v, want it removed", err)
	}
}

// startRecv starts ipn recv with args on path, as a node described descr,
// and waits until it is connected.
func startRecv(t *testing.T, path, descr string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := ipnCmd(t, append([]string{"recv", path, "--descr", descr}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, ports, err := ipn.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(ports, func(p ipn.PortInfo) bool { return p.Descr == descr }) {
			return cmd, &out, &errOut
		}
		if time.Now().After(deadline) {
			t.Fatalf("recv %s did not connect: %s", descr, errOut.String())
		}
	}
}

func waitRecv(t *testing.T, cmd *exec.Cmd, errOut *bytes.Buffer) {
	t.Helper()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("recv: %v: %s", err, errOut.String())
	}
}

func newNet(t *testing.T, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "net")
	mustIPN(t, nil, append([]string{"create", path}, args...)...)
	t.Cleanup(func() { runIPN(t, nil, "destroy", path) })
	return path
}

// TestSendRecvExact pipes random bytes through a lossless network with a
// small pool, so the sender often waits, to two receivers.
func TestSendRecvExact(t *testing.T) {
	path := newNet(t, "--lossless", "--pool", "4")
	const size, chunk = 300 << 10, 1000
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	count := strconv.Itoa((size + chunk - 1) / chunk)
	r1, out1, err1 := startRecv(t, path, "rx1", "--count", count, "--timeout", "20s")
	r2, out2, err2 := startRecv(t, path, "rx2", "--count", count, "--timeout", "20s")

	st := statJSON(t, path)
	if len(st.Ports) != 2 || st.Net.Readers != 2 || st.Net.Writers != 0 {
		t.Errorf("stat --json with two receivers: got %+v, want 2 ports, 2 readers, no writers", st)
	}
	for _, p := range st.Ports {
		if !p.Read || p.Write || p.PID <= 0 || p.Received != 0 {
			t.Errorf("stat --json: receiver port %+v: want read only, a pid, nothing received yet", p)
		}
	}

	mustIPN(t, data, "send", path, "--chunk", strconv.Itoa(chunk), "--descr", "tx")
	waitRecv(t, r1, err1)
	waitRecv(t, r2, err2)
	for i, out := range []*bytes.Buffer{out1, out2} {
		if got := out.Bytes(); !bytes.Equal(got, data) {
			n := 0
			for n < min(len(got), len(data)) && got[n] == data[n] {
				n++
			}
			t.Errorf("receiver %d: got %d bytes, want %d; they differ from byte %d", i+1, len(got), len(data), n)
		}
	}
}

func TestSendRecvLines(t *testing.T) {
	path := newNet(t, "--lossless")
	r, out, errOut := startRecv(t, path, "lines", "--lines", "--count", "4", "--timeout", "20s")
	mustIPN(t, []byte("one\n\nthree\nfour"), "send", path, "--lines")
	waitRecv(t, r, errOut)
	if got, want := out.String(), "one\n\nthree\nfour\n"; got != want {
		t.Errorf("recv --lines: got %q, want %q", got, want)
	}

	// A line longer than the MTU is an error, not a split message.
	small := newNet(t, "--mtu", "8")
	_, errOut2, err := runIPN(t, []byte("short\nmuch too long\n"), "send", small, "--lines")
	if err == nil || !strings.Contains(errOut2, "line 2 is longer than the network's MTU of 8 bytes") {
		t.Errorf("send --lines of a long line: %v, %q; want an error naming line 2", err, errOut2)
	}
}

// TestRecvTimeout: --timeout ends recv quietly without --count, and as an
// error with one.
func TestRecvTimeout(t *testing.T) {
	path := newNet(t)
	if out, errOut, err := runIPN(t, nil, "recv", path, "--timeout", "50ms"); err != nil || out != "" {
		t.Errorf("recv --timeout: %v, %q, %q; want success and no output", err, out, errOut)
	}
	_, errOut, err := runIPN(t, nil, "recv", path, "--timeout", "50ms", "--count", "3")
	if err == nil || !strings.Contains(errOut, "received 0 of 3 messages: none came for 50ms") {
		t.Errorf("recv --timeout --count: %v, %q; want an error saying 0 of 3 came", err, errOut)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		want   string
		status int // 1: a failure; 2: a usage error, followed by a line saying where help is
	}{
		{[]string{"stat", filepath.Join(dir, "none")}, filepath.Join(dir, "none") + ": no such file, so no network there", 1},
		{[]string{"stat", file}, file + " is not a live ipn network", 1},
		{[]string{"send", file}, file + " is not a live ipn network", 1},
		{[]string{"destroy", file}, file + " is not a live ipn network", 1},
		{[]string{"port", filepath.Join(dir, "none"), "1", "--mirror", "on"}, filepath.Join(dir, "none") + ": no such file, so no network there", 1},
		{[]string{"create", filepath.Join(dir, "x"), "--policy", "bus"}, `--policy "bus": want one of hub, switch, l3, topics`, 2},
		{[]string{"create", filepath.Join(dir, "x"), "--mode", "999"}, `--mode "999": want octal permission bits`, 2},
		{[]string{"create", file}, "the file exists", 1},
		{[]string{"stat"}, "stat wants one argument, the network's PATH, not 0", 2},
		{[]string{"stat", "a", "b"}, "stat wants one argument, the network's PATH, not 2", 2},
		{[]string{"port", file}, "accepts 2 arg(s), received 1", 2},
		{[]string{"ls", "--colour"}, "unknown flag: --colour", 2},
		{[]string{"recv", file, "--count", "many"}, `invalid argument "many" for "--count"`, 2},
		{[]string{"lss"}, `unknown command "lss" for "ipn"; did you mean ls?`, 2},
		{[]string{"top", "--iterations", "-1"}, "--iterations -1: want 0 (no limit) or more", 2},
		{[]string{"capture", file}, "capture wants -w FILE", 2},
	} {
		out, errOut, err := runIPN(t, nil, tc.args...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tc.status {
			t.Errorf("ipn %s: %v; want exit status %d", strings.Join(tc.args, " "), err, tc.status)
		}
		lines := 1
		if tc.status == exitUsage {
			lines = 2
			if !strings.Contains(errOut, "\nRun 'ipn") || !strings.HasSuffix(errOut, " --help' for usage.\n") {
				t.Errorf("ipn %s: stderr %q; want it to say where help is", strings.Join(tc.args, " "), errOut)
			}
		}
		if want := "ipn: "; !strings.HasPrefix(errOut, want) || !strings.Contains(errOut, tc.want) ||
			strings.Count(errOut, "\n") != lines || strings.Contains(errOut, "ipn: ipn:") {
			t.Errorf("ipn %s: stderr %q; want %d lines, %q...%q", strings.Join(tc.args, " "), errOut, lines, want, tc.want)
		}
		if out != "" {
			t.Errorf("ipn %s: stdout %q, want none", strings.Join(tc.args, " "), out)
		}
	}
	for _, name := range []string{"sw", "l3", "x"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("failed create left %s behind: %v", name, err)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, c := range netCommands() {
		if c.Short == "" || c.Long == "" {
			t.Errorf("ipn %s: want a short and a long description", c.Name())
		}
		if c.Hidden {
			continue
		}
		out := mustIPN(t, nil, c.Name(), "--help")
		if !strings.Contains(out, strings.TrimSpace(strings.SplitN(c.Long, "\n", 2)[0])) || !strings.Contains(out, "Usage:") {
			t.Errorf("ipn %s --help: want the long description and usage:\n%s", c.Name(), out)
		}
	}
}

// TestAutostart: with no coordinator running, ipn starts one, itself
// re-executed as ipn daemon (ipn.DaemonCommand).
func TestAutostart(t *testing.T) {
	dir, err := os.MkdirTemp("", "ipn-autostart-") // short: a socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "run", "ipnd.sock")
	cmd := ipnCmd(t, "ls")
	cmd.Env = append(cmd.Env, wire.EnvSocket+"="+sock, ipn.EnvNoAutostart+"=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ipn ls with no coordinator: %v\n%s", err, out)
	}
	if string(out) != "no networks\n" {
		t.Errorf("ipn ls: got %q, want %q", out, "no networks\n")
	}

	// Find the coordinator it started by the socket's peer, and stop it.
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatalf("no coordinator at %s after ipn ls: %v", sock, err)
	}
	creds, err := coordinator.PeerCreds(c)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	pid := creds.PID
	if cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil {
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if self, _ := os.Executable(); len(args) < 4 || args[0] != self || args[1] != "daemon" || args[2] != "--socket" || args[3] != sock {
			t.Errorf("coordinator %d runs %q, want this program's daemon --socket %s", pid, args, sock)
		}
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Lstat(sock); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("coordinator %d did not remove its socket after SIGTERM", pid)
		}
	}
	if log, err := os.ReadFile(filepath.Join(dir, "run", "ipnd.log")); err != nil || !bytes.Contains(log, []byte("coordinator listening")) {
		t.Errorf("coordinator log: %v, %q; want it listening", err, log)
	}
}

// TestBenchRunsBenchProgram: ipn bench runs the benchmark program found on
// PATH with the user's arguments, after telling it which ipn to drive, and
// hands it standard input, output and error and the exit status.
func TestBenchRunsBenchProgram(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\nfor a in \"$@\"; do echo \"arg $a\"; done\nread line\necho \"stdin $line\"\necho to-stderr >&2\nexit 7\n"
	if err := os.WriteFile(filepath.Join(dir, "ipn-bench"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, errOut, err := runIPN(t, []byte("hello\n"), "bench", "--quick", "--json", "--out", "x.md")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Fatalf("ipn bench: %v, want exit status 7\n%s", err, errOut)
	}
	self, _ := os.Executable()
	want := "arg --ipn\narg " + self + "\narg --quick\narg --json\narg --out\narg x.md\nstdin hello\n"
	if out != want {
		t.Errorf("ipn bench wrote\n%s\nwant\n%s", out, want)
	}
	if errOut != "to-stderr\n" {
		t.Errorf("ipn bench's standard error %q, want the program's own", errOut)
	}
}

// TestBenchMissingProgram: with no benchmark program to run, ipn bench
// says how to install it.
func TestBenchMissingProgram(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, errOut, err := runIPN(t, nil, "bench", "--quick")
	if err == nil {
		t.Fatal("ipn bench with no ipn-bench anywhere succeeded")
	}
	if !strings.Contains(errOut, "go install github.com/ipn-project/ipn/cmd/ipn-bench@latest") {
		t.Errorf("ipn bench: %q; want it to say how to install ipn-bench", errOut)
	}
}
