package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/wire"
)

// TestMain lets the test binary run as ipnd when asked to.
func TestMain(m *testing.M) {
	if os.Getenv("IPND_TEST_DAEMON") != "" {
		os.Args = append(os.Args[:1], os.Args[2:]...) // drop -test.run
		if v := os.Getenv("IPND_TEST_NOFILE"); v != "" {
			// Lowered here, in the child: Go raises the soft limit to
			// the hard one as it starts, so both go down.
			k, _ := strconv.ParseUint(v, 10, 64)
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: k, Max: k}); err != nil {
				fmt.Fprintln(os.Stderr, "setrlimit:", err)
				os.Exit(2)
			}
		}
		main()
		os.Exit(0)
	}
	if role := os.Getenv("IPND_TEST_CLIENT"); role != "" {
		clientRole(role)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestServeAndStop runs ipnd as a process: members join through it, and
// SIGTERM stops it cleanly, ending its networks and removing its socket.
func TestServeAndStop(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "ipnd.sock")
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--socket", sock)
	cmd.Env = append(os.Environ(), "IPND_TEST_DAEMON=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	t.Setenv(wire.EnvSocket, sock)
	t.Setenv(ipn.EnvNoAutostart, "1")
	path := filepath.Join(dir, "net")
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err = ipn.Create(path, ipn.Hub, ipn.Options{}); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("create through ipnd: %v", err)
	}
	if nets, err := ipn.List(); err != nil || len(nets) != 1 || nets[0].Path != path {
		t.Fatalf("list = %+v, %v; want the one network", nets, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ipnd exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ipnd did not stop on SIGTERM")
	}
	for _, p := range []string{sock, path} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind after shutdown (%v)", p, err)
		}
	}
}
