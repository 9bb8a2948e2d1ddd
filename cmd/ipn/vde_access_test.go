package main

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestVDEModeGroup: ipn vde --mode --group give the socket directory, its
// control socket and each port's data socket that mode and group, as
// vde_switch -m -g does; the directory may be searched wherever it may be
// read.
func TestVDEModeGroup(t *testing.T) {
	needVDE(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root: gives the sockets a group the test's user may not be in")
	}
	g, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Skipf("needs a group called nogroup: %v", err)
	}
	gid, _ := strconv.Atoi(g.Gid)
	path := newNet(t, "--lossless")
	dir := serveVDESock(t, path, "--mode", "0660", "--group", "nogroup")
	plug, in, out := startPlug(t, dir)
	waitVDEPorts(t, path, 1)
	// Once a frame comes through, the data socket is made and set.
	mustIPN(t, ethFrame("to vde_plug"), "send", path, "--chunk", "1514")
	plugRead(t, out)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	check := func(p string, want os.FileMode) {
		t.Helper()
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want || int(st.Sys().(*syscall.Stat_t).Gid) != gid {
			t.Errorf("%s: mode %v, group %d; want %v and %d (nogroup)", p, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Gid, want, gid)
		}
	}
	check(dir, 0o770)
	check(filepath.Join(dir, "ctl"), 0o660)
	// A program's data socket: its group is set, but libvdeplug chmods it
	// itself (to 0700 unless told otherwise), as with vde_switch.
	data := 0
	for _, e := range ents {
		if e.Name() == "ctl" || strings.HasPrefix(e.Name(), ".") { // .PID-N: vde_plug's own socket
			continue
		}
		data++
		st, err := os.Lstat(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if got := int(st.Sys().(*syscall.Stat_t).Gid); got != gid {
			t.Errorf("data socket %s: group %d, want %d (nogroup)", e.Name(), got, gid)
		}
	}
	if data != 1 {
		t.Errorf("%s holds %d data sockets, want 1", dir, data)
	}
	in.Close()
	plug.Wait()

	for _, bad := range [][]string{{"--mode", "0"}, {"--mode", "rw"}, {"--group", "no-such-group-here"}} {
		_, errOut, err := runIPN(t, nil, append([]string{"vde", path, "--sock", t.TempDir()}, bad...)...)
		if code := exitCode(err); code != exitUsage {
			t.Errorf("ipn vde %v: exit status %d, want %d: %s", bad, code, exitUsage, errOut)
		}
	}
}

// exitCode is the exit status of a command that ended with err.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
