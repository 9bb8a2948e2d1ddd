package ipn_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/coordinator"
	"github.com/ipn-project/ipn/wire"
)

// The permission matrix of N3 and N4 with real identities: members run
// under uids and gids that exist only as numbers, and the coordinator judges
// them by the credentials the kernel reports for their connections.

const (
	permOwner = 4201 // owns the network files
	permGroup = 4202 // their group
	permUID   = 4203 // neither owner nor, unless given the group, member
	permGID   = 4299 // a group that is not the file's
)

func init() {
	// perm-probe tries to bind the network and to connect to it, and says
	// what it could do: "probe bind=ok connect=r- send=EPIPE recv=EAGAIN".
	roles["perm-probe"] = func(path string) error {
		result := func(err error) string {
			if err == nil {
				return "ok"
			}
			return errName(err)
		}
		var res []string
		b := ipn.NewNode(ipn.Hub)
		res = append(res, "bind="+result(b.Bind(path)))
		b.Close()
		c := ipn.NewNode(ipn.Hub)
		defer c.Close()
		if err := c.Connect(path); err != nil {
			res = append(res, "connect="+result(err))
		} else {
			res = append(res, "connect="+roleLetters(c.CanRead(), c.CanWrite()),
				"send="+result(c.Send([]byte("probe"))))
			c.SetNonblock(true)
			_, err := c.Recv(make([]byte, 64))
			res = append(res, "recv="+result(err))
		}
		fmt.Println("probe", strings.Join(res, " "))
		return nil
	}
	// perm-list lists the networks of the coordinator it is pointed at.
	roles["perm-list"] = func(string) error {
		if _, err := ipn.List(); err != nil {
			fmt.Printf("list %s (%v)\n", errName(err), err)
			return nil
		}
		fmt.Println("list ok")
		return nil
	}
}

func roleLetters(r, w bool) string {
	s := []byte("--")
	if r {
		s[0] = 'r'
	}
	if w {
		s[1] = 'w'
	}
	return string(s)
}

// permExpect is what a probe whose class has the permission bits rwx
// should report.
func permExpect(rwx uint32) string {
	bind := "EACCES"
	if rwx&1 != 0 {
		bind = "ok"
	}
	if rwx&6 == 0 {
		return fmt.Sprintf("bind=%s connect=EACCES", bind)
	}
	send, recv := "EPIPE", "ESHUTDOWN"
	if rwx&2 != 0 {
		send = "ok"
	}
	if rwx&4 != 0 {
		recv = "EAGAIN"
	}
	return fmt.Sprintf("bind=%s connect=%s send=%s recv=%s", bind, roleLetters(rwx&4 != 0, rwx&2 != 0), send, recv)
}

// permEnv makes what members under other identities need: a copy of the
// test binary they may run, a directory for networks they may search, and
// a coordinator socket they may reach.
type permEnv struct {
	bin, dir string
}

func newPermEnv(t *testing.T) permEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: members run under other uids and gids")
	}
	mkdir := func(pattern string) string {
		d, err := os.MkdirTemp("", pattern)
		must(t, err)
		t.Cleanup(func() { os.RemoveAll(d) })
		must(t, os.Chmod(d, 0o755))
		return d
	}
	e := permEnv{dir: mkdir("ipn-perm-net-")}
	self, err := os.Executable()
	must(t, err)
	src, err := os.Open(self)
	must(t, err)
	defer src.Close()
	e.bin = filepath.Join(mkdir("ipn-perm-bin-"), "ipn.test")
	dst, err := os.OpenFile(e.bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	must(t, err)
	_, err = io.Copy(dst, src)
	must(t, err)
	must(t, dst.Close())
	must(t, os.Chmod(e.bin, 0o755))

	// TestMain's coordinator socket is 0666, but its directory comes from
	// os.MkdirTemp with 0700: let other users search it while we run.
	sockDir := filepath.Dir(wire.DefaultSocket())
	st, err := os.Stat(sockDir)
	must(t, err)
	if st.Mode().Perm()&0o001 == 0 {
		t.Logf("coordinator directory has mode %v: adding search permission for other users", st.Mode().Perm())
		must(t, os.Chmod(sockDir, st.Mode().Perm()|0o011))
		t.Cleanup(func() { os.Chmod(sockDir, st.Mode().Perm()) })
	}
	return e
}

// permNet creates a network in e.dir owned by permOwner:permGroup with the
// given permission bits, alive until the test ends.
func (e permEnv) permNet(t *testing.T, name string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(e.dir, name)
	n := ipn.NewNode(ipn.Hub)
	must(t, n.SetNumNodes(4))
	create(t, n, path)
	t.Cleanup(func() { n.Close(); waitUnlisted(t, path) })
	must(t, os.Chown(path, permOwner, permGroup))
	must(t, os.Chmod(path, mode))
	return path
}

// probe runs perm-probe as cred and returns its report.
func (e permEnv) probe(t *testing.T, path string, cred *syscall.Credential) string {
	t.Helper()
	m := launch(t, "perm-probe", path, launchOpts{bin: e.bin, cred: cred})
	out := waitExit(t, m, fmt.Sprintf("probe as uid %d gid %d groups %v", cred.Uid, cred.Gid, cred.Groups), 20*time.Second)
	report, ok := strings.CutPrefix(strings.TrimSpace(out), "probe ")
	if !ok {
		t.Fatalf("probe printed %q", out)
	}
	return report
}

// TestPermissionMatrix checks, for each class of identity and each of the
// eight rwx combinations of its class's bits, that bind needs x, connect
// gives the read role iff r and the write role iff w, and neither is
// EACCES. The two other classes get the complement, so a test passes only
// if the right class, and that class alone, is read.
func TestPermissionMatrix(t *testing.T) {
	e := newPermEnv(t)
	idents := []struct {
		name  string
		shift uint // where the bits that apply sit in the mode
		cred  syscall.Credential
	}{
		{"owner", 6, syscall.Credential{Uid: permOwner, Gid: permGID}},
		{"owner in group", 6, syscall.Credential{Uid: permOwner, Gid: permGroup}},
		{"group (gid)", 3, syscall.Credential{Uid: permUID, Gid: permGroup}},
		{"group (supplementary)", 3, syscall.Credential{Uid: permUID, Gid: permGID, Groups: []uint32{4290, permGroup}}},
		{"other", 0, syscall.Credential{Uid: permUID, Gid: permGID}},
		{"other with groups", 0, syscall.Credential{Uid: permUID + 1, Gid: permGID, Groups: []uint32{4290, 4291}}},
	}
	var mu sync.Mutex
	got := map[string]map[uint32]string{}
	bad := map[string]map[uint32]bool{}
	t.Run("probes", func(t *testing.T) {
		for i, id := range idents {
			got[id.name], bad[id.name] = map[uint32]string{}, map[uint32]bool{}
			for rwx := uint32(0); rwx < 8; rwx++ {
				mode := rwx << id.shift
				for _, s := range []uint{6, 3, 0} {
					if s != id.shift {
						mode |= (7 ^ rwx) << s
					}
				}
				name := fmt.Sprintf("%s/%v", id.name, os.FileMode(mode))
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					path := e.permNet(t, fmt.Sprintf("net-%d-%d", i, rwx), os.FileMode(mode))
					cred := id.cred
					report := e.probe(t, path, &cred)
					want := permExpect(rwx)
					mu.Lock()
					got[id.name][rwx], bad[id.name][rwx] = report, report != want
					mu.Unlock()
					if report != want {
						t.Errorf("uid %d gid %d groups %v on a %v network owned by %d:%d:\n got %s\nwant %s",
							cred.Uid, cred.Gid, cred.Groups, os.FileMode(mode), permOwner, permGroup, report, want)
					}
				})
			}
		}
	})

	// The matrix, one cell per class bits: B when bind worked, then the
	// roles connect gave, "EA" for EACCES; "!" marks a cell that is wrong.
	var b strings.Builder
	fmt.Fprintf(&b, "network files owned by %d:%d; each identity tried with its class's bits as heading the column, the other classes the complement\n", permOwner, permGroup)
	fmt.Fprintf(&b, "%-22s %-20s", "identity", "uid:gid +groups")
	for rwx := uint32(0); rwx < 8; rwx++ {
		fmt.Fprintf(&b, " %-6s", os.FileMode(rwx).String()[7:])
	}
	b.WriteString("\n")
	for _, id := range idents {
		ids := fmt.Sprintf("%d:%d", id.cred.Uid, id.cred.Gid)
		for i, g := range id.cred.Groups {
			ids += map[bool]string{true: " +", false: ","}[i == 0] + fmt.Sprint(g)
		}
		fmt.Fprintf(&b, "%-22s %-20s", id.name, ids)
		for rwx := uint32(0); rwx < 8; rwx++ {
			fmt.Fprintf(&b, " %-6s", permCell(got[id.name][rwx], bad[id.name][rwx]))
		}
		b.WriteString("\n")
	}
	b.WriteString("cell: B = bind allowed; rw/r-/-w = roles given by connect; EA = connect refused (EACCES); ! = not as POSIX says")
	t.Logf("permission matrix:\n%s", b.String())

	// Root: read and write whatever the bits, execute if any x bit is set.
	t.Run("root", func(t *testing.T) {
		for _, tc := range []struct {
			mode os.FileMode
			bind bool
		}{{0o000, false}, {0o001, true}, {0o600, false}, {0o010, true}} {
			path := e.permNet(t, fmt.Sprintf("root-%o", tc.mode), tc.mode)
			err := ipn.NewNode(ipn.Hub).Bind(path)
			if (err == nil) != tc.bind {
				t.Errorf("root binds a %v network: %v, want allowed %v", tc.mode, err, tc.bind)
			}
			n := node(t, ipn.Hub)
			if err := n.Connect(path); err != nil || !n.CanRead() || !n.CanWrite() {
				t.Errorf("root connects to a %v network: %v, read %v write %v; want both", tc.mode, err, n.CanRead(), n.CanWrite())
			}
		}
	})
}

func permCell(report string, wrong bool) string {
	if report == "" {
		return "?"
	}
	var cell string
	if strings.Contains(report, "bind=ok") {
		cell = "B "
	} else {
		cell = ". "
	}
	_, conn, _ := strings.Cut(report, "connect=")
	conn, _, _ = strings.Cut(conn, " ")
	if conn == "EACCES" {
		conn = "EA"
	}
	cell += conn
	if wrong {
		cell += "!"
	}
	return cell
}

// TestPermissionSystemSocket starts a coordinator the way the system one
// starts, socket mode 0666 in a directory Listen creates, and checks that
// another user can reach it.
func TestPermissionSystemSocket(t *testing.T) {
	e := newPermEnv(t)
	sock := filepath.Join(e.dir, "run", "ipnd.sock")
	srv := coordinator.NewServer(slog.New(slog.DiscardHandler), t.TempDir())
	must(t, srv.Listen(sock, 0o666))
	t.Cleanup(func() { srv.Close() })
	st, err := os.Stat(filepath.Dir(sock))
	must(t, err)
	m := launch(t, "perm-list", "", launchOpts{bin: e.bin, cred: &syscall.Credential{Uid: permUID, Gid: permGID},
		env: []string{wire.EnvSocket + "=" + sock}})
	if out := strings.TrimSpace(waitExit(t, m, "list as another user", 20*time.Second)); out != "list ok" {
		t.Errorf("another user lists networks of a coordinator listening with mode 0666 (its directory made %v): %s, want list ok",
			st.Mode().Perm(), out)
	}
}
