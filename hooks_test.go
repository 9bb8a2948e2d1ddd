package ipn_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/ring"
)

// hookPolicy is a policy of a user's own that records every hook call, with
// the pid of the process that ran it, in the file $IPN_TEST_HOOKLOG: the
// coordinator (TestMain's, in this process) and the members (this binary
// re-executed) know it alike. It forwards like the hub.
const hookPolicy = ipn.Policy(dispatch.FirstUser + 7)

const envHookLog = "IPN_TEST_HOOKLOG"

type hookRecorder struct{}

var _ interface {
	dispatch.Policy
	dispatch.NetStarter
	dispatch.Resizer
	dispatch.NetEnder
	dispatch.PortStarter
	dispatch.PortStopper
	dispatch.PortEnder
	dispatch.Optioner
	dispatch.Controller
} = hookRecorder{}

func init() {
	if err := dispatch.Register(int(hookPolicy), hookRecorder{}); err != nil {
		panic(err)
	}
}

func (hookRecorder) record(format string, args ...any) {
	path := os.Getenv(envHookLog)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strconv.Itoa(os.Getpid()) + " " + fmt.Sprintf(format, args...) + "\n"); err != nil {
		panic(err)
	}
}

func (hookRecorder) Name() string { return "hook-recorder" }

func (r hookRecorder) NewPort(n dispatch.Net, want int, free uint64) (int, error) {
	r.record("newport want=%d ports=%d", want, n.Ports())
	return dispatch.LowestFree(want, free)
}

func (r hookRecorder) Dispatch(_ dispatch.Net, d *ring.Delivery) {
	r.record("dispatch from=%d %d bytes", d.From(), len(d.Data()))
	d.To(d.Readers())
}

func (r hookRecorder) NewNet(n dispatch.Net) error {
	r.record("newnet ports=%d", n.Ports())
	return nil
}

func (r hookRecorder) ResizeNet(n dispatch.Net, oldPorts, newPorts int) error {
	r.record("resizenet %d to %d ports=%d", oldPorts, newPorts, n.Ports())
	if newPorts == 5 {
		return fmt.Errorf("the recorder refuses 5 ports: %w", syscall.EINVAL)
	}
	return nil
}

func (r hookRecorder) DelNet(dispatch.Net)               { r.record("delnet") }
func (r hookRecorder) PostNewPort(_ dispatch.Net, p int) { r.record("postnewport %d", p) }
func (r hookRecorder) PreDelPort(_ dispatch.Net, p int)  { r.record("predelport %d", p) }
func (r hookRecorder) DelPort(_ dispatch.Net, p int)     { r.record("delport %d", p) }

func (r hookRecorder) SetOption(_ dispatch.Net, port int, name string, value []byte) error {
	r.record("setoption %d %s=%s", port, name, value)
	return nil
}

func (r hookRecorder) Option(_ dispatch.Net, port int, name string) ([]byte, error) {
	r.record("option %d %s", port, name)
	return []byte("v"), nil
}

func (r hookRecorder) Control(_ dispatch.Net, port int, req []byte) ([]byte, error) {
	r.record("control %d %s", port, req)
	return append([]byte("re:"), req...), nil
}

// hookLog reads the recorded calls: the pid of each, and the calls.
func hookLog(t *testing.T, path string) (pids []int, calls []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		pid, call, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		k, _ := strconv.Atoi(pid)
		pids, calls = append(pids, k), append(calls, call)
	}
	return pids, calls
}

// waitHook waits until the log's last call is last.
func waitHook(t *testing.T, path, last string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, calls := hookLog(t, path); len(calls) > 0 && calls[len(calls)-1] == last {
			return
		}
	}
	_, calls := hookLog(t, path)
	t.Fatalf("no %q recorded; calls so far:\n%s", last, strings.Join(calls, "\n"))
}

// TestPolicyHooks runs every hook of SPEC P1 through a network's life, with
// members as processes, and checks the calls, their order, and the process
// each ran in: the coordinator for all but Dispatch, the sender for that.
func TestPolicyHooks(t *testing.T) {
	log := filepath.Join(t.TempDir(), "hooks")
	t.Setenv(envHookLog, log)
	path := confPath(t)
	retryInUse(t, func() error { return ipn.Create(path, hookPolicy, ipn.Options{NumNodes: 4}) })
	admin := node(t, hookPolicy)
	must(t, admin.Bind(path))
	a, b := newMember(t, path), newMember(t, path)
	pa := memberPort(t, a.ok(t, "connect policy=%d", hookPolicy))
	pb := memberPort(t, b.ok(t, "connect policy=%d", hookPolicy))
	a.ok(t, "send 1 64")
	if got := b.ok(t, "recv 1 10000"); got != "64:1" {
		t.Errorf("b received %q, want message 1 of 64 bytes", got)
	}
	must(t, admin.ChangeNumNodes(6))
	errIs(t, "a resize the policy refuses", admin.ChangeNumNodes(5), syscall.EINVAL)
	if info, _ := stat(t, path); info.Opts.NumNodes != 6 {
		t.Errorf("%d ports after a refused resize, want 6", info.Opts.NumNodes)
	}
	must(t, admin.SetPolicyOption(pa, "color", "blue"))
	out, err := admin.ControlPort(pb, []byte("hello"))
	if err != nil || string(out) != "re:hello" {
		t.Errorf("control call: %q %v, want re:hello", out, err)
	}
	if out, err := admin.Control([]byte("net")); err != nil || string(out) != "re:net" {
		t.Errorf("control call of an unconnected node: %q %v, want re:net", out, err)
	}
	if got := a.do(t, "control %d 00", pa); !strings.HasPrefix(got, "err EPERM") {
		t.Errorf("control call of a node only connected: %q, want EPERM", got)
	}
	a.ok(t, "close")
	waitHook(t, log, fmt.Sprintf("delport %d", pa))
	b.cmd.Process.Kill()
	waitHook(t, log, fmt.Sprintf("delport %d", pb))
	admin.Close()
	must(t, ipn.Destroy(path))
	waitHook(t, log, "delnet")

	want := []string{
		"newnet ports=4",
		"newport want=-1 ports=4", fmt.Sprintf("postnewport %d", pa),
		"newport want=-1 ports=4", fmt.Sprintf("postnewport %d", pb),
		fmt.Sprintf("dispatch from=%d 64 bytes", pa),
		"resizenet 4 to 6 ports=4",
		"resizenet 6 to 5 ports=6",
		fmt.Sprintf("setoption %d color=blue", pa),
		fmt.Sprintf("control %d hello", pb),
		"control -1 net",
		fmt.Sprintf("predelport %d", pa), fmt.Sprintf("delport %d", pa), // a closed
		fmt.Sprintf("predelport %d", pb), fmt.Sprintf("delport %d", pb), // b killed
		"delnet",
	}
	pids, calls := hookLog(t, log)
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("hook calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	for i, c := range calls {
		where, pid := "the coordinator", os.Getpid()
		if strings.HasPrefix(c, "dispatch") {
			where, pid = "the sender", a.cmd.Process.Pid
		}
		if pids[i] != pid {
			t.Errorf("%s ran in pid %d, want %s's, %d", c, pids[i], where, pid)
		}
	}
}

// TestControlRights: a control call needs a bound node whose caller may,
// still, execute the network's file (as IPN's ioctls did); a policy with
// no control calls gives ENOTTY.
func TestControlRights(t *testing.T) {
	e := newPermEnv(t)
	path := e.permNet(t, "ctl", 0o771)
	m := launch(t, "conf-member", path, launchOpts{bin: e.bin, cred: &syscall.Credential{Uid: permOwner, Gid: permGID}})
	m.ok(t, "bind")
	if got := m.do(t, "control -1 00"); !strings.HasPrefix(got, "err ENOTTY") {
		t.Errorf("control call on a hub network: %q, want ENOTTY", got)
	}
	must(t, os.Chmod(path, 0o671)) // the owner may no longer execute it
	if got := m.do(t, "control -1 00"); !strings.HasPrefix(got, "err EACCES") {
		t.Errorf("control call without execute permission: %q, want EACCES", got)
	}
	m.quit(t)
}
