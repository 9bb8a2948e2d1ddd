package ipn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ipn-project/ipn/internal/fdpass"
	"github.com/ipn-project/ipn/wire"
)

// EnvNoAutostart, when set, keeps the client from starting a coordinator.
const EnvNoAutostart = "IPN_NO_AUTOSTART"

// dial connects to the coordinator, starting one when none answers.
func dial() (*net.UnixConn, error) {
	path := wire.DefaultSocket()
	c, err := dialOnce(path)
	if err == nil {
		return c, nil
	}
	if err := notOurs(path, err); err != nil {
		return nil, err
	}
	if os.Getenv(EnvNoAutostart) != "" {
		return nil, fmt.Errorf("%w at %s: %v", ErrNoCoordinator, path, err)
	}
	if err := startCoordinator(path); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err = dialOnce(path); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w at %s: started one, but it does not answer: %v", ErrNoCoordinator, path, err)
	}
	return c, nil
}

// notOurs returns the error to give, rather than start a coordinator, when
// the one at path is not this user's: its socket refuses this user
// (another user's, or a group this user is not in), or none answers and its
// directory is another user's, where this user cannot start one. It
// returns nil when starting one is worth a try.
func notOurs(path string, dialErr error) error {
	uid := os.Getuid()
	if errors.Is(dialErr, syscall.EACCES) || errors.Is(dialErr, syscall.EPERM) {
		whose := "its directory is closed to this user"
		if st, err := os.Stat(path); err == nil {
			sys := st.Sys().(*syscall.Stat_t)
			whose = fmt.Sprintf("its socket belongs to uid %d, group %d, mode %04o", sys.Uid, sys.Gid, st.Mode().Perm())
		}
		return fmt.Errorf("the coordinator at %s is not reachable by uid %d (%s): use one of your own "+
			"(unset %s, or point it at a socket you own), or ask its owner for access (the system one: ipnd --system --group NAME, "+
			"and membership of that group): %w (%w)", path, uid, whose, wire.EnvSocket, syscall.EACCES, ErrNoCoordinator)
	}
	if uid == 0 {
		return nil
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err == nil {
		if owner := st.Sys().(*syscall.Stat_t).Uid; owner != uint32(uid) {
			return fmt.Errorf("no coordinator answers at %s (%v), and its directory %s belongs to uid %d, so uid %d cannot start one there: "+
				"have its owner start it (the system one: systemctl start ipnd.socket), or set %s to a socket of your own: %w",
				path, dialErr, dir, owner, uid, wire.EnvSocket, ErrNoCoordinator)
		}
	}
	return nil
}

func dialOnce(path string) (*net.UnixConn, error) {
	return net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
}

// DaemonCommand, when set, makes the command that starts a coordinator
// serving socket; programs that embed one (the ipn command does) set it.
// Otherwise the client looks for ipnd on PATH and beside the program.
var DaemonCommand func(socket string) *exec.Cmd

// startCoordinator starts a coordinator in the background, in a session of
// its own, serving path.
func startCoordinator(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	var cmd *exec.Cmd
	if DaemonCommand != nil {
		cmd = DaemonCommand(path)
	} else {
		bin, err := findIPND()
		if err != nil {
			return fmt.Errorf("%w at %s, and no ipnd program to start one: install it (go install ./cmd/ipnd) or run it yourself", ErrNoCoordinator, path)
		}
		cmd = exec.Command(bin, "--socket", path)
	}
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(path), "ipnd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if _, set := os.LookupEnv(wire.EnvIdleExit); !set {
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, wire.EnvIdleExit+"="+wire.AutostartIdle.String())
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start coordinator %s: %w", cmd.Path, err)
	}
	go cmd.Wait() // reap it if it exits while we run
	return nil
}

// findIPND looks for ipnd on PATH, then beside this program.
func findIPND() (string, error) {
	bin, err := exec.LookPath("ipnd")
	if err != nil {
		if self, err2 := os.Executable(); err2 == nil {
			if cand := filepath.Join(filepath.Dir(self), "ipnd"); fileExists(cand) {
				bin, err = cand, nil
			}
		}
	}
	return bin, err
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// call sends req on c, with the descriptors in, and returns the response
// and any descriptors that came with it.
func call(c *net.UnixConn, req *wire.Request, in ...int) (*wire.Response, []int, error) {
	b, err := wire.EncodeRequest(req)
	if err != nil {
		return nil, nil, err
	}
	if err := fdpass.Send(c, b, in...); err != nil {
		return nil, nil, fmt.Errorf("ipn: coordinator: %w", err)
	}
	return receive(c)
}

// receive reads the coordinator's response to a request, and any
// descriptors that came with it.
func receive(c *net.UnixConn) (*wire.Response, []int, error) {
	buf := make([]byte, wire.MaxMessage)
	n, fds, err := fdpass.Recv(c, buf)
	if err != nil {
		return nil, nil, fmt.Errorf("ipn: coordinator: %w", err)
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("ipn: coordinator closed the connection: %w", ErrNoCoordinator)
	}
	resp, err := wire.DecodeResponse(buf[:n])
	if err != nil {
		closeFDs(fds)
		return nil, nil, err
	}
	if err := resp.Err(); err != nil {
		closeFDs(fds)
		return nil, nil, err
	}
	return resp, fds, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}
