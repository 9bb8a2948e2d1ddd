package sockgw

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ipn-project/ipn/coordinator"
)

func TestParseHello(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Hello
		err  string // a part of the error; "" for none
	}{
		{in: "IPN-SOCK/1", want: Hello{}},
		{in: "IPN-SOCK/1\n", want: Hello{}},
		{in: "IPN-SOCK/1\r\ndescr=cam 1\r\nsend=drop\r\n", want: Hello{Descr: "cam 1", Drop: true}},
		{in: "IPN-SOCK/1\n\ndescr=a=b\n\nsend=wait", want: Hello{Descr: "a=b"}},
		{in: "IPN-SOCK/2\n", err: "first line"},
		{in: "hello", err: "first line"},
		{in: "", err: "first line"},
		{in: "IPN-SOCK/1\ndescr", err: "not key=value"},
		{in: "IPN-SOCK/1\nsend=maybe", err: "want wait or drop"},
		{in: "IPN-SOCK/1\nport=3", err: "unknown key"},
		{in: "IPN-SOCK/1\nsend=drop\nsend=wait", err: "twice"},
		{in: "IPN-SOCK/1\ndescr=" + strings.Repeat("x", 129), err: "at most 128"},
		{in: "IPN-SOCK/1\n" + strings.Repeat("\n", MaxHello), err: "at most"},
	} {
		got, err := ParseHello([]byte(tc.in))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseHello(%q): %v", tc.in, err)
		case tc.err == "" && got != tc.want:
			t.Errorf("ParseHello(%q) = %+v, want %+v", tc.in, got, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseHello(%q) = %+v, %v; want an error saying %q", clip([]byte(tc.in)), got, err, tc.err)
		case tc.err != "" && (!errors.Is(err, ErrHello) || !errors.Is(err, syscall.EINVAL)):
			t.Errorf("ParseHello(%q): %v does not wrap ErrHello and EINVAL", tc.in, err)
		}
	}
}

// FuzzParseHello: a hello is untrusted bytes from any local process.
// Whatever it is, ParseHello answers without panicking, and what it
// accepts fits the limits.
func FuzzParseHello(f *testing.F) {
	f.Add([]byte("IPN-SOCK/1\ndescr=cam\nsend=drop\n"))
	f.Add([]byte("IPN-SOCK/1\r\n\r\nsend=wait"))
	f.Add([]byte("IPN-SOCK/1\ndescr=\xff\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHello(b)
		if err != nil {
			if !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("error %v is not EINVAL", err)
			}
			return
		}
		if len(h.Descr) > 128 || len(b) > MaxHello {
			t.Fatalf("accepted %q as %+v", b, h)
		}
	})
}

func TestRefusal(t *testing.T) {
	if got := string(Refusal(errTooLong{1514})); !strings.HasPrefix(got, "IPN-SOCK/1 error EMSGSIZE a message longer than the network's MTU (1514 bytes)") {
		t.Errorf("Refusal = %q", got)
	}
	if got := string(Refusal(errors.New("odd"))); got != "IPN-SOCK/1 error EIO odd" {
		t.Errorf("Refusal of an error with no errno = %q", got)
	}
	if got := string(Welcome(3, true, false, 1514)); got != "IPN-SOCK/1 ok port=3 roles=r mtu=1514" {
		t.Errorf("Welcome = %q", got)
	}
}

// TestRolesUnknownGroups: a peer whose groups cannot be read gets only
// what holds whether or not it is in the file's group: a group class with
// fewer bits than other's cannot lift it to other's.
func TestRolesUnknownGroups(t *testing.T) {
	// A directory uid 4242 may search: t.TempDir's parent is the owner's
	// alone, which Roles must refuse (see the last case).
	dir, err := os.MkdirTemp("", "sockgw-roles-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "net")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	gid := st.Sys().(*syscall.Stat_t).Gid
	c := coordinator.Creds{PID: 1, UID: 4242, GID: 4242}
	for _, tc := range []struct {
		mode          os.FileMode
		known         bool
		groups        []uint32
		read, write   bool
		wantForbidden bool
	}{
		{mode: 0o604, known: true, read: true},                                 // other: r
		{mode: 0o604, known: true, groups: []uint32{gid}, wantForbidden: true}, // group: nothing
		{mode: 0o604, known: false, wantForbidden: true},                       // maybe in the group: nothing
		{mode: 0o666, known: false, read: true, write: true},                   // either way rw
		{mode: 0o646, known: false, read: true},                                // r either way, w only outside
		{mode: 0o600, known: true, wantForbidden: true},
	} {
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		cc := c
		cc.Groups = tc.groups
		r, w, err := Roles(cc, tc.known, path)
		if tc.wantForbidden {
			if !errors.Is(err, syscall.EACCES) {
				t.Errorf("mode %o, groups known %v %v: %v %v %v, want EACCES", tc.mode, tc.known, tc.groups, r, w, err)
			}
			continue
		}
		if err != nil || r != tc.read || w != tc.write {
			t.Errorf("mode %o, groups known %v %v: read %v write %v (%v), want %v %v", tc.mode, tc.known, tc.groups, r, w, err, tc.read, tc.write)
		}
	}
	// A directory on the way that the peer may not search.
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Roles(c, true, path); !errors.Is(err, syscall.EACCES) || !strings.Contains(err.Error(), "may not search "+dir) {
		t.Errorf("through a directory of mode 0700: %v, want EACCES naming it", err)
	}
}
