package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/internal/netns"
)

// startCapture runs ipn capture with args, its standard output to stdout
// unless nil, and waits until it says which port it captures on.
func startCapture(t *testing.T, stdout io.Writer, args ...string) (*exec.Cmd, *netns.Buffer, int) {
	t.Helper()
	cmd := ipnCmd(t, append([]string{"capture"}, args...)...)
	if stdout != nil {
		cmd.Stdout = stdout
	}
	return startNodeWith(t, cmd)
}

// stopCapture interrupts a capture and checks that it ends well.
func stopCapture(t *testing.T, cmd *exec.Cmd, errOut *netns.Buffer) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ipn capture after SIGINT: %v\n%s", err, errOut.String())
	}
}

// TestCapturePing captures a ping between two namespaces, each joined by
// an interface node: TAPs on a switch (Ethernet frames) and TUNs on a
// layer-3 switch (raw IP). One capture writes a file, another writes
// standard output into tcpdump -r -. tcpdump finds every echo request and
// reply in both, and the capture ports sent nothing.
func TestCapturePing(t *testing.T) {
	needNetAdmin(t, "tcpdump")
	for _, tc := range []struct {
		kind, policy string
		subnet       int
		link         layers.LinkType
	}{
		{"tap", "switch", 221, layers.LinkTypeEthernet},
		{"tun", "l3", 222, layers.LinkTypeRaw},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			path := newNet(t, "--policy", tc.policy, "--lossless", "--pool", "64")
			file := filepath.Join(t.TempDir(), "cap.pcap")
			toFile, toFileErr, filePort := startCapture(t, nil, path, "-w", file)

			// ipn capture PATH -w - | tcpdump -r - -nn
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			dump := exec.Command("tcpdump", "-r", "-", "-nn", "icmp")
			var dumped, dumpErr bytes.Buffer
			dump.Stdin, dump.Stdout, dump.Stderr = r, &dumped, &dumpErr
			if err := dump.Start(); err != nil {
				t.Fatal(err)
			}
			r.Close()
			toPipe, toPipeErr, pipePort := startCapture(t, w, path, "-w", "-")
			w.Close()

			hosts := plugHostsOf(t, tc.kind, path, nsTag("c"+tc.kind[:1]), tc.subnet, 1, 2)
			res, ok := ping(t, hosts[0].ns, fmt.Sprintf("10.%d.0.2", tc.subnet))
			if !ok {
				t.Fatalf("ping: %d of %d answered\n%s", res.Received, res.Sent, res.Output)
			}
			st := statJSON(t, path)
			for _, port := range []int{filePort, pipePort} {
				var p *ipn.PortInfo
				for i := range st.Ports {
					if st.Ports[i].Port == port {
						p = &st.Ports[i]
					}
				}
				switch {
				case p == nil:
					t.Errorf("capture port %d is not in ipn stat: %+v", port, st.Ports)
				case p.Write || p.Sent != 0 || !p.Read || p.Received == 0:
					t.Errorf("capture port %d: %+v; want a reader that sent nothing and received", port, *p)
				}
			}
			stopCapture(t, toFile, toFileErr)
			stopCapture(t, toPipe, toPipeErr)
			if tc.policy == "switch" { // the switch keeps a port's settings: capture puts them back
				if out := mustIPN(t, nil, "port", path, strconv.Itoa(filePort)); !strings.Contains(out, "mirror off") {
					t.Errorf("port %d after the capture ended: %s; want mirror off", filePort, out)
				}
			}
			if err := dump.Wait(); err != nil {
				t.Fatalf("tcpdump -r -: %v\n%s", err, dumpErr.String())
			}

			checkLinkType(t, file, tc.link)
			out, err := exec.Command("tcpdump", "-r", file, "-nn", "icmp").CombinedOutput()
			if err != nil {
				t.Fatalf("tcpdump -r %s: %v\n%s", file, err, out)
			}
			for what, got := range map[string]string{"the file": string(out), "the pipe": dumped.String()} {
				req, rep := strings.Count(got, "ICMP echo request"), strings.Count(got, "ICMP echo reply")
				if req != res.Sent || rep != res.Received {
					t.Errorf("tcpdump of %s: %d echo requests and %d replies, want %d and %d:\n%s", what, req, rep, res.Sent, res.Received, got)
				}
			}
		})
	}
}

// checkLinkType reads the pcap file's header back.
func checkLinkType(t *testing.T, file string, want layers.LinkType) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if got := r.LinkType(); got != want {
		t.Errorf("%s: link type %v, want %v", file, got, want)
	}
}

// TestCaptureCount captures --count messages sent by ipn send on a hub
// network, with no interface and no root: the file holds exactly those
// messages, in order, each whole.
func TestCaptureCount(t *testing.T) {
	path := newNet(t, "--lossless", "--pool", "64")
	var out bytes.Buffer
	cmd, errOut, _ := startCapture(t, &out, path, "-w", "-", "--count", "3")
	mustIPN(t, []byte("one\ntwo\nthree\nfour\n"), "send", path, "--lines")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ipn capture --count 3: %v\n%s", err, errOut.String())
	}
	r, err := pcapgo.NewReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("link type on a hub: %v, want Ethernet", r.LinkType())
	}
	var got []string
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ci.Timestamp.IsZero() || ci.Length != len(data) {
			t.Errorf("record %q: %+v, want a time and its whole length", data, ci)
		}
		got = append(got, string(data))
	}
	if want := []string{"one", "two", "three"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("captured %q, want %q", got, want)
	}
}

// TestStatJSONTypes checks the JSON conventions: the policy by name, the
// mode as an octal string, counters as numbers.
func TestStatJSONTypes(t *testing.T) {
	path := newNet(t, "--policy", "switch", "--mode", "0750")
	var st struct{ Net map[string]any }
	if err := json.Unmarshal([]byte(mustIPN(t, nil, "stat", "--json", path)), &st); err != nil {
		t.Fatal(err)
	}
	net := st.Net
	opts, _ := net["opts"].(map[string]any)
	wantMode := modeText(0o750 &^ umask(t))
	if net["policy"] != "switch" || opts["mode"] != wantMode {
		t.Errorf("stat --json: policy %#v, mode %#v; want \"switch\" and %q", net["policy"], opts["mode"], wantMode)
	}
	for _, k := range []string{"ports_in_use", "readers", "writers", "pool_in_use"} {
		if _, ok := net[k].(float64); !ok {
			t.Errorf("stat --json: %s is %#v, want a number", k, net[k])
		}
	}
}
