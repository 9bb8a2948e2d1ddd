package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ipn"
	"ipn/internal/netns"
)

// vdePorts counts the network's ports that VDE programs plugged.
func vdePorts(t *testing.T, path string) int {
	t.Helper()
	_, ports, err := ipn.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return len(slices.DeleteFunc(ports, func(p ipn.PortInfo) bool { return !strings.HasPrefix(p.Descr, "vde ") }))
}

func waitVDEPorts(t *testing.T, path string, k int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); vdePorts(t, path) != k; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never had %d VDE ports", path, k)
		}
	}
}

// TestVDEPlug: Debian's vde_plug, a real VDE program, plugs into an ipn
// network through ipn vde; an Ethernet frame goes each way, and the port
// goes when the program does.
func TestVDEPlug(t *testing.T) {
	if _, err := exec.LookPath("vde_plug"); err != nil {
		t.Skip("needs vde_plug (Debian's vde2; .ci/run installs it)")
	}
	path := newNet(t, "--lossless")
	dir := filepath.Join(t.TempDir(), "sw")
	srv := ipnCmd(t, "vde", path, "--sock", dir)
	log := &netns.Buffer{}
	srv.Stdout, srv.Stderr = log, log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(log.String(), "listening on"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ipn vde never listened: %s", log.String())
		}
	}

	plug := exec.Command("vde_plug", dir)
	in, err := plug.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	plug.Stdout = w
	if err := plug.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { plug.Process.Kill(); plug.Wait() })
	waitVDEPorts(t, path, 1)

	// vde_plug's stream: a 2-byte big-endian length, then the frame.
	toNet := ethFrame("from vde_plug to ipn")
	rx, out, errOut := startRecv(t, path, "rx", "--count", "1", "--timeout", "20s")
	if _, err := in.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(toNet))), toNet...)); err != nil {
		t.Fatal(err)
	}
	waitRecv(t, rx, errOut)
	if !bytes.Equal(out.Bytes(), toNet) {
		t.Errorf("ipn got %q, want the frame vde_plug sent, %q", out.Bytes(), toNet)
	}

	toPlug := ethFrame("from ipn to vde_plug")
	mustIPN(t, toPlug, "send", path, "--chunk", "1514")
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		t.Fatalf("vde_plug wrote nothing: %v\n%s", err, log.String())
	}
	got := make([]byte, binary.BigEndian.Uint16(head[:]))
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, toPlug) {
		t.Errorf("vde_plug got %q (%v), want %q", got, err, toPlug)
	}

	in.Close()
	plug.Wait()
	waitVDEPorts(t, path, 0)
}

// ethFrame is a broadcast Ethernet frame carrying text, padded to the
// 60-byte minimum.
func ethFrame(text string) []byte {
	f := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5}
	f = append(f, text...)
	for len(f) < 60 {
		f = append(f, 0)
	}
	return f
}
