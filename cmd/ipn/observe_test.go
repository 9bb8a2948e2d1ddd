package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/internal/netns/netnstest"
)

// TestTop runs ipn top --iterations 2 while a sender streams into a hub
// network with a receiver: two frames, no escape codes on a pipe, and the
// sender's port shows messages going out.
func TestTop(t *testing.T) {
	path := newNet(t, "--lossless", "--pool", "64")
	tx, rx := ipn.NewNode(ipn.Hub), ipn.NewNode(ipn.Hub)
	for _, n := range []*ipn.Node{tx, rx} {
		if err := n.Connect(path); err != nil {
			t.Fatal(err)
		}
		defer n.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { // traffic until the test ends
		defer close(done)
		buf := make([]byte, 1514)
		msg := make([]byte, 100)
		for ctx.Err() == nil {
			if tx.Send(msg) != nil {
				return
			}
			if _, err := rx.Recv(buf); err != nil {
				return
			}
		}
	}()
	defer func() { cancel(); tx.Close(); rx.Close(); <-done }()

	out := mustIPN(t, nil, "top", "--iterations", "2", "--interval", "300ms")
	if strings.Contains(out, "\x1b") {
		t.Errorf("ipn top into a pipe wrote escape codes:\n%q", out)
	}
	if got := strings.Count(out, "ipn top: "); got != 2 {
		t.Errorf("ipn top --iterations 2: %d frames, want 2:\n%s", got, out)
	}
	// The network's line: its path, its policy, a rate of messages out
	// that is not zero.
	netLine := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(path) + `\s+hub\s+(\S+)`)
	m := netLine.FindAllStringSubmatch(out, -1)
	if len(m) != 2 {
		t.Fatalf("ipn top: want a line for %s in each frame:\n%s", path, out)
	}
	for _, f := range m {
		if f[1] == "0" || f[1] == "-" {
			t.Errorf("ipn top: %s sends %s messages a second under traffic:\n%s", path, f[1], out)
		}
	}
	if got := strings.Count(out, "\n  "); got < 4 {
		t.Errorf("ipn top: want a line for each of two ports in each frame:\n%s", out)
	}
	// One network only, by path.
	if out := mustIPN(t, nil, "top", path, "-n", "1", "--interval", "10ms"); strings.Count(out, path) != 1 {
		t.Errorf("ipn top PATH -n 1:\n%s", out)
	}
}

// TestTopTerminal: on a terminal each frame starts by clearing the screen.
func TestTopTerminal(t *testing.T) {
	path := newNet(t)
	var b bytes.Buffer
	if err := runTop(context.Background(), &b, true, path, 10*time.Millisecond, 2); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), "\x1b[H\x1b[2J"); got != 2 {
		t.Errorf("runTop on a terminal: %d screen clears for 2 frames:\n%q", got, b.String())
	}
}

func TestRate(t *testing.T) {
	for _, tc := range []struct {
		a, b uint64
		secs float64
		want string
	}{
		{0, 0, 1, "0"}, {0, 950, 1, "950"}, {100, 12400, 1, "12.3k"}, {0, 9_120_000, 2, "4.56M"},
		{0, 3_600_000_000, 3, "1.20G"}, {5, 4, 1, "-"},
	} {
		if got := rate(tc.a, tc.b, tc.secs); got != tc.want {
			t.Errorf("rate(%d, %d, %v) = %q, want %q", tc.a, tc.b, tc.secs, got, tc.want)
		}
	}
}

// TestVersion: ipn version and ipn --version say the same, from the build
// information.
func TestVersion(t *testing.T) {
	v := mustIPN(t, nil, "version")
	if !strings.HasPrefix(v, "ipn ") || !strings.Contains(v, "go1.") {
		t.Errorf("ipn version = %q, want ipn VERSION (… go1.N…)", v)
	}
	if w := mustIPN(t, nil, "--version"); w != v {
		t.Errorf("ipn --version = %q, ipn version = %q: want the same", w, v)
	}
}

// TestMan writes the manual pages and finds one per command, made from the
// commands' help.
func TestMan(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man")
	mustIPN(t, nil, "man", dir)
	for _, page := range []string{"ipn.1", "ipn-capture.1", "ipn-top.1", "ipn-create.1", "ipn-version.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("ipn man: %v", err)
			continue
		}
		if !bytes.Contains(b, []byte(".TH \"IPN\" \"1\"")) {
			t.Errorf("%s is no manual page of section 1:\n%.300s", page, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "ipn-capture.1")); !bytes.Contains(b, []byte("tcpdump")) {
		t.Errorf("ipn-capture.1 lacks the command's help")
	}
	if _, err := os.Stat(filepath.Join(dir, "ipn-man.1")); err == nil {
		t.Errorf("the hidden man command has a page of its own")
	}
}

// TestComplete asks for completions as the shell scripts do: policies by
// name with what they do, topics included; on and off for --mirror; the
// networks the coordinator serves for a PATH.
func TestComplete(t *testing.T) {
	out := mustIPN(t, nil, "__complete", "create", "./x", "--policy", "")
	for _, want := range []string{"hub\t", "switch\t", "l3\t", "topics\t"} {
		if !strings.Contains(out, want) {
			t.Errorf("completion of --policy lacks %q:\n%s", want, out)
		}
	}
	if out := mustIPN(t, nil, "__complete", "port", "./x", "1", "--mirror", ""); !strings.Contains(out, "on\noff\n") {
		t.Errorf("completion of --mirror:\n%s", out)
	}
	path := newNet(t)
	if out := mustIPN(t, nil, "__complete", "stat", ""); !strings.Contains(out, path+"\n") {
		t.Errorf("completion of stat's PATH lacks %s:\n%s", path, out)
	}
	if out := mustIPN(t, nil, "--help"); !strings.Contains(out, "Exit status: 0 on success, 1 when a command fails, 2 when") {
		t.Errorf("ipn --help does not document the exit statuses:\n%s", out)
	}
}

// TestTapNameTaken: a TAP named as an interface of the namespace it is to
// be made in (this one, or --netns's) is refused with a message that says
// so.
func TestTapNameTaken(t *testing.T) {
	needNetAdmin(t)
	path := newNet(t, "--policy", "switch")
	ns := netnstest.New(t, nsTag("nt"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tap", path, "--name", "lo"}, "tap lo: an interface called lo exists already in the host namespace; choose another --name"},
		{[]string{"tap", path, "--name", "lo", "--netns", ns.Name}, "tap lo: an interface called lo exists already in the namespace " + ns.Name},
	} {
		_, errOut, err := runIPN(t, nil, tc.args...)
		if err == nil || !strings.Contains(errOut, tc.want) {
			t.Errorf("ipn %s: %v, %q; want an error saying %q", strings.Join(tc.args, " "), err, errOut, tc.want)
		}
	}
}
