package ipn

import (
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
