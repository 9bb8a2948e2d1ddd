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

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/internal/netns"
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
	needVDE(t)
	path := newNet(t, "--lossless")
	dir := serveVDESock(t, path)
	plug, in, out := startPlug(t, dir)
	waitVDEPorts(t, path, 1)

	toNet := ethFrame("from vde_plug to ipn")
	rx, got, errOut := startRecv(t, path, "rx", "--count", "1", "--timeout", "20s")
	plugWrite(t, in, toNet)
	waitRecv(t, rx, errOut)
	if !bytes.Equal(got.Bytes(), toNet) {
		t.Errorf("ipn got %q, want the frame vde_plug sent, %q", got.Bytes(), toNet)
	}

	toPlug := ethFrame("from ipn to vde_plug")
	mustIPN(t, toPlug, "send", path, "--chunk", "1514")
	if f := plugRead(t, out); !bytes.Equal(f, toPlug) {
		t.Errorf("vde_plug got %q, want %q", f, toPlug)
	}

	in.Close()
	plug.Wait()
	waitVDEPorts(t, path, 0)
}

// TestVDESwitchCable: vde_plug as a cable between a real vde_switch and an
// ipn network (through ipn vde); a frame sent into the vde_switch reaches
// the ipn network.
func TestVDESwitchCable(t *testing.T) {
	needVDE(t)
	path := newNet(t, "--lossless")
	dir := serveVDESock(t, path)
	sw := startVDESwitch(t, "--hub")
	cable := exec.Command("vde_plug", sw, dir)
	if err := cable.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cable.Process.Kill(); cable.Wait() })
	waitVDEPorts(t, path, 1)

	_, in, _ := startPlug(t, sw)
	f := ethFrame("from a vde_switch to ipn")
	rx, got, errOut := startRecv(t, path, "rx", "--count", "1", "--timeout", "20s")
	plugWrite(t, in, f)
	waitRecv(t, rx, errOut)
	if !bytes.Equal(got.Bytes(), f) {
		t.Errorf("ipn got %q, want the frame sent into vde_switch, %q", got.Bytes(), f)
	}
}

// startVDESwitch starts Debian's vde_switch with args, stopped at the
// test's end, and returns its socket directory once it serves there.
func startVDESwitch(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("vde_switch"); err != nil {
		t.Skip("needs vde_switch (Debian's vde2; .ci/run installs it)")
	}
	sw := filepath.Join(t.TempDir(), "vsw")
	cmd := exec.Command("vde_switch", append(args, "--sock", sw)...)
	in, err := cmd.StdinPipe() // its console: the switch ends when it closes
	if err != nil {
		t.Fatal(err)
	}
	out := &netns.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(sw, "ctl")); err == nil {
			return sw
		}
		if time.Now().After(deadline) {
			t.Fatalf("vde_switch never made its socket: %s", out.String())
		}
	}
}

func needVDE(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("vde_plug"); err != nil {
		t.Skip("needs vde_plug (Debian's vde2; .ci/run installs it)")
	}
}

// serveVDESock runs ipn vde for the network at path, with more flags if
// given, and returns its socket directory once it listens.
func serveVDESock(t *testing.T, path string, flags ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sw")
	srv := ipnCmd(t, append([]string{"vde", path, "--sock", dir}, flags...)...)
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
	return dir
}

// startPlug starts vde_plug plugged into the switch at dir, with its frame
// stream on a pipe each way.
func startPlug(t *testing.T, dir string) (*exec.Cmd, io.WriteCloser, *os.File) {
	t.Helper()
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
	t.Cleanup(func() { plug.Process.Kill(); plug.Wait(); r.Close() })
	return plug, in, r
}

// vde_plug's stream: a 2-byte big-endian length, then the frame.
func plugWrite(t *testing.T, in io.Writer, f []byte) {
	t.Helper()
	if _, err := in.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(f))), f...)); err != nil {
		t.Fatal(err)
	}
}

func plugRead(t *testing.T, out *os.File) []byte {
	t.Helper()
	out.SetReadDeadline(time.Now().Add(10 * time.Second))
	var head [2]byte
	if _, err := io.ReadFull(out, head[:]); err != nil {
		t.Fatalf("vde_plug wrote nothing: %v", err)
	}
	f := make([]byte, binary.BigEndian.Uint16(head[:]))
	if _, err := io.ReadFull(out, f); err != nil {
		t.Fatalf("vde_plug wrote part of a frame: %v", err)
	}
	return f
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
