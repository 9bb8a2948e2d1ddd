package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/ring"
)

// echoPolicy is a hub whose control call answers its request, reversed,
// after the port number: the coordinator of these tests (in this process)
// knows it.
const echoPolicy = dispatch.FirstUser + 8

type echo struct{}

func (echo) Name() string                                         { return "echo" }
func (echo) NewPort(_ dispatch.Net, w int, f uint64) (int, error) { return dispatch.LowestFree(w, f) }
func (echo) Dispatch(_ dispatch.Net, d *ring.Delivery)            { d.To(d.Readers()) }

func (echo) Control(_ dispatch.Net, port int, req []byte) ([]byte, error) {
	out := []byte{byte(port)}
	for i := len(req) - 1; i >= 0; i-- {
		out = append(out, req[i])
	}
	return out, nil
}

func init() {
	if err := dispatch.Register(echoPolicy, echo{}); err != nil {
		panic(err)
	}
}

// TestPortControl: ipn port --control reaches the policy's Controller with
// the request as hex, from a file, or from standard input, and prints the
// answer in hex; a policy without control calls gives ENOTTY.
func TestPortControl(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "net")
	if err := ipn.Create(path, echoPolicy, ipn.Options{}); err != nil {
		t.Fatal(err)
	}
	defer ipn.Destroy(path)
	if out := mustIPN(t, nil, "port", path, "3", "--control", "010203"); out != "03030201\n" {
		t.Errorf("--control 010203: %q, want 03030201", out)
	}
	file := filepath.Join(dir, "req")
	if err := os.WriteFile(file, []byte("ab"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustIPN(t, nil, "port", path, "2", "--control", "@"+file); out != "026261\n" {
		t.Errorf("--control @FILE: %q, want 026261", out)
	}
	if out := mustIPN(t, []byte("xyz"), "port", path, "1", "--control", "@-"); out != "017a7978\n" {
		t.Errorf("--control @-: %q, want 017a7978", out)
	}
	if _, errOut, err := runIPN(t, nil, "port", path, "1", "--control", "0g"); err == nil || !strings.Contains(errOut, "hex") {
		t.Errorf("--control 0g: %v %q, want a complaint about hex", err, errOut)
	}
	hub := filepath.Join(dir, "hub")
	if err := ipn.Create(hub, ipn.Hub, ipn.Options{}); err != nil {
		t.Fatal(err)
	}
	defer ipn.Destroy(hub)
	if _, errOut, err := runIPN(t, nil, "port", hub, "1", "--control", "00"); err == nil || !strings.Contains(errOut, syscall.ENOTTY.Error()) {
		t.Errorf("--control on a hub: %v %q, want ENOTTY", err, errOut)
	}
}
