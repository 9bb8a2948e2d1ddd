package coordinator

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestAccessValues(t *testing.T) {
	for _, tc := range []struct {
		a    Access
		want uint32
		str  string
	}{
		{AccessExec, 1, "--x"},
		{AccessWrite, 2, "-w-"},
		{AccessRead, 4, "r--"},
		{AccessRead | AccessWrite, 6, "rw-"},
		{0, 0, "---"},
		{8, 8, "Access(10)"},
	} {
		if uint32(tc.a) != tc.want {
			t.Errorf("Access %v = %d, want %d", tc.a, uint32(tc.a), tc.want)
		}
		if got := tc.a.String(); got != tc.str {
			t.Errorf("Access(%d).String() = %q, want %q", uint32(tc.a), got, tc.str)
		}
	}
}

func TestAllowed(t *testing.T) {
	const (
		fileUID = 1000
		fileGID = 100
	)
	owner := Creds{UID: fileUID, GID: 500}
	member := Creds{UID: 2000, GID: fileGID}
	supp := Creds{UID: 2000, GID: 500, Groups: []uint32{7, fileGID, 9}}
	other := Creds{UID: 2000, GID: 500, Groups: []uint32{7, 9}}
	root := Creds{UID: 0, GID: 0}
	r, w, x := AccessRead, AccessWrite, AccessExec

	for _, tc := range []struct {
		name string
		c    Creds
		mode uint32
		want Access
		ok   bool
	}{
		// Each class, each bit, present and absent.
		{"owner r", owner, 0o400, r, true},
		{"owner w", owner, 0o200, w, true},
		{"owner x", owner, 0o100, x, true},
		{"owner no r", owner, 0o377, r, false},
		{"owner no w", owner, 0o577, w, false},
		{"owner no x", owner, 0o677, x, false},
		{"group r", member, 0o040, r, true},
		{"group w", member, 0o020, w, true},
		{"group x", member, 0o010, x, true},
		{"group no r", member, 0o737, r, false},
		{"group no w", member, 0o757, w, false},
		{"group no x", member, 0o767, x, false},
		{"other r", other, 0o004, r, true},
		{"other w", other, 0o002, w, true},
		{"other x", other, 0o001, x, true},
		{"other no r", other, 0o773, r, false},
		{"other no w", other, 0o775, w, false},
		{"other no x", other, 0o776, x, false},

		// Supplementary groups select the group class.
		{"supplementary r", supp, 0o040, r, true},
		{"supplementary masks other", supp, 0o007, r, false},
		{"not in group gets other", other, 0o070, r, false},

		// The first matching class is the only one that counts.
		{"owner masks group", owner, 0o070, r, false},
		{"owner masks other", owner, 0o007, x, false},
		{"owner in group masks group", Creds{UID: fileUID, GID: fileGID}, 0o070, w, false},
		{"group masks other", member, 0o007, r, false},

		// Root.
		{"root r without bits", root, 0o000, r, true},
		{"root w without bits", root, 0o000, w, true},
		{"root rw without bits", root, 0o000, r | w, true},
		{"root x without x bits", root, 0o666, x, false},
		{"root x with owner x", root, 0o100, x, true},
		{"root x with group x", root, 0o010, x, true},
		{"root x with other x", root, 0o001, x, true},
		{"root rwx with other x", root, 0o001, r | w | x, true},
		{"root rx without x bits", root, 0o777 &^ 0o111, r | x, false},

		// Combined wants need every bit in the one class.
		{"owner rw", owner, 0o600, r | w, true},
		{"owner rw, only r", owner, 0o477, r | w, false},
		{"group rw, only w", member, 0o727, r | w, false},
		{"other rwx", other, 0o007, r | w | x, true},
		{"other rw, only r", other, 0o664, r | w, false},

		// Edges.
		{"empty want", other, 0o000, 0, true},
		{"unknown bit", owner, 0o777, 8, false},
		{"file type bits ignored", owner, unix.S_IFSOCK | 0o600, r | w, true},
		{"setuid bit is no x", other, unix.S_ISUID | unix.S_ISGID | unix.S_ISVTX, x, false},
	} {
		if got := Allowed(tc.c, fileUID, fileGID, tc.mode, tc.want); got != tc.ok {
			t.Errorf("%s: Allowed(uid %d gid %d groups %v, %04o, %v) = %v, want %v",
				tc.name, tc.c.UID, tc.c.GID, tc.c.Groups, tc.mode, tc.want, got, tc.ok)
		}
	}
}

func TestCheck(t *testing.T) {
	st := &unix.Stat_t{Uid: 1000, Gid: 100, Mode: unix.S_IFSOCK | 0o640}
	for _, tc := range []struct {
		name string
		c    Creds
		want Access
		msg  string // "" when allowed
	}{
		{"owner connects rw", Creds{UID: 1000, GID: 1000}, AccessRead | AccessWrite, ""},
		{"group connects r", Creds{UID: 1001, GID: 5, Groups: []uint32{100}}, AccessRead, ""},
		{"group binds", Creds{UID: 1001, GID: 100}, AccessExec,
			"permission denied: bind needs x on the network, uid 1001 has r-- (group)"},
		{"group sends", Creds{UID: 1001, GID: 100}, AccessRead | AccessWrite,
			"permission denied: connect needs rw on the network, uid 1001 has r-- (group)"},
		{"other receives", Creds{UID: 1002, GID: 5}, AccessRead,
			"permission denied: connect needs r on the network, uid 1002 has --- (other)"},
		{"owner binds and connects", Creds{UID: 1000, GID: 5}, AccessExec | AccessRead,
			"permission denied: bind and connect needs rx on the network, uid 1000 has rw- (owner)"},
		{"root binds without x", Creds{UID: 0}, AccessExec,
			"permission denied: bind needs x on the network, uid 0 has rw- (root)"},
		{"neither r nor w", Creds{UID: 1000, GID: 1000}, 0,
			"permission denied: connect needs r or w on the network, and asked for neither"},
	} {
		err := Check(tc.c, st, tc.want)
		if tc.msg == "" {
			if err != nil {
				t.Errorf("%s: Check = %v, want nil", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Check = nil, want %q", tc.name, tc.msg)
			continue
		}
		if !errors.Is(err, syscall.EACCES) {
			t.Errorf("%s: Check = %v, want an error wrapping EACCES", tc.name, err)
		}
		if got := err.Error(); got != tc.msg {
			t.Errorf("%s: Check error\n got %q\nwant %q", tc.name, got, tc.msg)
		}
	}

	if err := Check(Creds{UID: 0}, nil, AccessRead); !errors.Is(err, syscall.EACCES) {
		t.Errorf("Check(nil stat) = %v, want an error wrapping EACCES", err)
	}
}

// TestCheckRealFile checks a real socket inode, as the coordinator will: the
// stat comes from the file system, the credentials from this process.
func TestCheckRealFile(t *testing.T) {
	path := t.TempDir() + "/net"
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		t.Fatalf("mode %o: not a socket inode", st.Mode)
	}
	me := Creds{UID: uint32(unix.Geteuid()), GID: uint32(unix.Getegid())}
	if err := Check(me, &st, AccessRead|AccessWrite); err != nil {
		t.Errorf("owner connect rw: %v", err)
	}
	if err := Check(me, &st, AccessExec); !errors.Is(err, syscall.EACCES) {
		t.Errorf("bind without any x bit: got %v, want EACCES", err)
	}
	if !strings.Contains(fmt.Sprint(Check(me, &st, AccessExec)), "bind needs x") {
		t.Errorf("bind error does not say what bind needs")
	}
}
