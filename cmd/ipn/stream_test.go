package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
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
)

// Streaming tests: one producer, consumers that stop, join late and get
// killed. Every wait is bounded by a generous limit for progress; nothing
// asserts a time.

// streamData is size random bytes, the same for a seed.
func streamData(size int, seed uint64) []byte {
	b := make([]byte, size)
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// stopped starts receiver descr and stops it with SIGSTOP once connected;
// the cleanup lets it go on and kills it.
func stopped(t *testing.T, path, descr string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd, out, errOut := startRecv(t, path, descr, args...)
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGCONT) })
	return cmd, out, errOut
}

// portOf returns the stat of the port described descr.
func portOf(t *testing.T, path, descr string) ipn.PortInfo {
	t.Helper()
	_, ports, err := ipn.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ports, func(p ipn.PortInfo) bool { return p.Descr == descr })
	if i < 0 {
		t.Fatalf("no port %q in %+v", descr, ports)
	}
	return ports[i]
}

func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	n := 0
	for n < min(len(got), len(want)) && got[n] == want[n] {
		n++
	}
	t.Errorf("%s: got %d bytes, want %d; they differ from byte %d", what, len(got), len(want), n)
}

// sendStats runs ipn send --stats with data on path and returns what it
// printed on standard error.
func sendStats(t *testing.T, path string, data []byte, args ...string) string {
	t.Helper()
	_, errOut, err := runIPN(t, data, append([]string{"send", path, "--stats", "--descr", "tx"}, args...)...)
	if err != nil {
		t.Fatalf("send: %v\n%s", err, errOut)
	}
	return errOut
}

// TestLossyReceiverDoesNotSlowSender: on a lossless network with a small
// pool, a receiver that joined with --lossy is stopped with SIGSTOP; the
// sender does not wait for it (without --lossy it would wait forever),
// the drops are counted against it, and the healthy receiver gets the
// input byte for byte.
func TestLossyReceiverDoesNotSlowSender(t *testing.T) {
	path := newNet(t, "--lossless", "--pool", "8")
	const size, chunk = 1 << 20, 1000
	data := streamData(size, 7)
	count := strconv.Itoa((size + chunk - 1) / chunk)
	ok, okOut, okErr := startRecv(t, path, "healthy", "--count", count, "--timeout", "60s")
	stopped(t, path, "stopped", "--lossy")
	if p := portOf(t, path, "stopped"); !p.Lossy {
		t.Errorf("stat: the --lossy receiver is not marked lossy: %+v", p)
	}
	stats := sendStats(t, path, data, "--chunk", strconv.Itoa(chunk))
	waitRecv(t, ok, okErr)
	sameBytes(t, "healthy receiver", okOut.Bytes(), data)
	if !strings.Contains(stats, "sent "+count+" messages") || strings.Contains(stats, "dropped 0 ") {
		t.Errorf("send --stats: %q, want %s messages sent and drops", stats, count)
	}
}

// TestStallTimeout: a normal receiver stopped with SIGSTOP keeps the
// lossless sender waiting past the stall limit and is made lossy for
// itself; the sender goes on, the healthy receiver gets every byte, and
// the stopped one, let go again, is told why out of band.
func TestStallTimeout(t *testing.T) {
	path := newNet(t, "--lossless", "--pool", "8", "--stall-timeout", "300ms")
	const size, chunk = 512 << 10, 1000
	data := streamData(size, 9)
	count := strconv.Itoa((size + chunk - 1) / chunk)
	ok, okOut, okErr := startRecv(t, path, "healthy", "--count", count, "--timeout", "60s")
	st, _, stErr := stopped(t, path, "stalled", "--timeout", "3s")
	if p := portOf(t, path, "stalled"); p.Lossy {
		t.Fatalf("stat: the receiver is lossy before it stalled: %+v", p)
	}
	stats := sendStats(t, path, data, "--chunk", strconv.Itoa(chunk))
	waitRecv(t, ok, okErr)
	sameBytes(t, "healthy receiver", okOut.Bytes(), data)
	if p := portOf(t, path, "stalled"); !p.Lossy {
		t.Errorf("stat: the stalled receiver: %+v, want it lossy", p)
	}
	if strings.Contains(stats, "dropped 0 ") || strings.Contains(stats, "blocked 0 times") {
		t.Errorf("send --stats: %q, want drops and waits", stats)
	}
	st.Process.Signal(syscall.SIGCONT)
	waitRecv(t, st, stErr)
	if !strings.Contains(stErr.String(), "lossy from now on") {
		t.Errorf("the stalled receiver was not told: stderr %q", stErr.String())
	}
}

// producer is a sender of the test's own process.
func producer(t *testing.T, path string) *ipn.Node {
	t.Helper()
	n := ipn.NewNode(ipn.Any)
	if err := n.SetDescr("producer"); err != nil {
		t.Fatal(err)
	}
	if err := n.Connect(path); err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(syscall.SHUT_RD); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func sendLinesFrom(t *testing.T, n *ipn.Node, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := n.Send([]byte(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

// lateJoiner sends messages m0 up to before, starts a receiver, sends the
// rest up to before end, and checks that the receiver got the last hist
// messages sent before it joined, then the others, in order.
func lateJoiner(t *testing.T, path string, prod *ipn.Node, before, end, hist int) {
	t.Helper()
	sendLinesFrom(t, prod, 0, before)
	r, out, errOut := startRecv(t, path, "late", "--lines", "--count", strconv.Itoa(end-before+hist), "--timeout", "30s")
	sendLinesFrom(t, prod, before, end)
	waitRecv(t, r, errOut)
	if got, want := out.String(), wantLines(before-hist, end); got != want {
		t.Errorf("late joiner got\n%s\nwant\n%s", got, want)
	}
}

func wantLines(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "m%d\n", i)
	}
	return b.String()
}

// TestHistoryLateJoiner: a receiver that joins after 20 messages gets the
// last 5 of them, then the live ones, in order.
func TestHistoryLateJoiner(t *testing.T) {
	for _, mode := range []string{"--lossless", "--pool=16"} {
		t.Run(mode, func(t *testing.T) {
			path := newNet(t, mode, "--history", "5")
			lateJoiner(t, path, producer(t, path), 20, 30, 5)
		})
	}
}

// TestStreamSurvivesKills: history and the stall limit through a SIGKILL
// of a consumer and of the producer: the healthy receiver gets every
// message of each producer, a joiner gets the new producer's history, and
// once everyone left no slot is held.
func TestStreamSurvivesKills(t *testing.T) {
	path := newNet(t, "--lossless", "--pool", "4", "--history", "3", "--stall-timeout", "200ms")
	const chunk = 500
	first, second := streamData(200*chunk*2, 11), streamData(100*chunk*2, 12)
	n1, n2 := len(first)/chunk, len(second)/chunk
	ok, okOut, okErr := startRecv(t, path, "healthy", "--count", strconv.Itoa(n1+n2), "--timeout", "60s")
	victim, _, _ := stopped(t, path, "victim")

	// The first producer: a process fed through a pipe, killed once all
	// its input was read and sent.
	p1 := ipnCmd(t, "send", path, "--chunk", strconv.Itoa(chunk), "--descr", "p1")
	in, err := p1.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p1.Start(); err != nil {
		t.Fatal(err)
	}
	in.Write(first)
	for deadline := time.Now().Add(60 * time.Second); portOf(t, path, "p1").Sent < uint64(n1); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("first producer stuck: %+v", portOf(t, path, "p1"))
		}
	}
	victim.Process.Kill()
	victim.Wait()
	p1.Process.Kill()
	p1.Wait()
	in.Close()

	mustIPN(t, second, "send", path, "--chunk", strconv.Itoa(chunk), "--descr", "p2")
	waitRecv(t, ok, okErr)
	sameBytes(t, "healthy receiver", okOut.Bytes(), append(slices.Clone(first), second...))

	// A producer that stays, and a joiner that gets its last 3 messages.
	prod := producer(t, path)
	lateJoiner(t, path, prod, 10, 12, 3)
	prod.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, ports, err := ipn.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(ports) == 0 && info.PoolInUse == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slots held after everyone left: %+v, ports %+v", info, ports)
		}
	}
}

// TestFFmpegStream: a live MPEG-TS stream from ffmpeg, in 1316-byte
// messages, to a recorder, a transcoder and a player that decodes to null,
// on a lossless network with a stall limit; the player is stopped with
// SIGSTOP midway; the recorder's file equals the source byte for byte and
// the transcoder and the player decode it.
func TestFFmpegStream(t *testing.T) {
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed (apt-get install ffmpeg): the MPEG-TS pipeline test needs it")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.ts")
	if out, err := exec.Command(ff, "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=4:size=320x240:rate=25",
		"-c:v", "mpeg2video", "-f", "mpegts", src).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg making the source: %v\n%s", err, out)
	}
	path := newNet(t, "--lossless", "--pool", "64", "--stall-timeout", "500ms")
	rec, recOut, recErr := startRecv(t, path, "record", "--timeout", "5s")
	trans := exec.Command("sh", "-c", ipnShell(t)+" recv "+path+" --descr transcode --timeout 5s | "+ff+" -v error -f mpegts -i - -c:v mpeg4 -f null -")
	var transErr bytes.Buffer
	trans.Stderr = &transErr
	if err := trans.Start(); err != nil {
		t.Fatal(err)
	}
	stopped(t, path, "play", "--timeout", "5s")
	waitPort(t, path, "transcode")
	mustIPN(t, readFile(t, src), "send", path, "--chunk", "1316", "--rate", "2M")
	waitRecv(t, rec, recErr)
	sameBytes(t, "recorder", recOut.Bytes(), readFile(t, src))
	if err := trans.Wait(); err != nil {
		t.Errorf("transcoder: %v\n%s", err, transErr.String())
	}
}

// ipnShell is the ipn command for a shell pipeline: the test binary, run
// as ipn.
func ipnShell(t *testing.T) string {
	t.Helper()
	c := ipnCmd(t)
	return "env " + envCLI + "=1 GORACE='atexit_sleep_ms=0' " + c.Path
}

// waitPort waits until a port described descr is connected.
func waitPort(t *testing.T, path, descr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, ports, err := ipn.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(ports, func(p ipn.PortInfo) bool { return p.Descr == descr }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not connect", descr)
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want sendRate
		ok   bool
	}{
		{"2M", sendRate{perSec: 2e6}, true},
		{"2MB/s", sendRate{perSec: 2e6}, true},
		{"512KiB/s", sendRate{perSec: 512 << 10}, true},
		{"1500", sendRate{perSec: 1500}, true},
		{"500msg/s", sendRate{perSec: 500, msgs: true}, true},
		{"0", sendRate{}, false},
		{"fast", sendRate{}, false},
		{"-3M", sendRate{}, false},
	} {
		got, err := parseRate(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseRate(%q) = %+v, %v; want %+v, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}
