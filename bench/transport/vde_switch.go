package transport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ipn-project/ipn/bench/harness"
)

// vdeSwitch is a running vde_switch process in hub mode, started by the
// parent for one run. One goroutine at a time.
type vdeSwitch struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser // closing it stops the switch (EOF on its console)
	out    *harness.TailBuffer
	exited chan error
}

// vdeStartTimeout bounds how long the switch may take to make its control
// socket.
const vdeStartTimeout = 10 * time.Second

// startVDESwitch starts `vde_switch --hub --sock dir` and waits for its
// control socket. The switch's management console reads standard input:
// it gets a pipe that only the parent holds, so it neither reads the
// terminal nor outlives the parent (EOF on the pipe makes it clean up and
// exit), and Pdeathsig kills it should the parent die first.
func startVDESwitch(dir string) (*vdeSwitch, error) {
	cmd := exec.Command("vde_switch", "--hub", "--sock", dir)
	out := &harness.TailBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		stdin.Close()
		return nil, fmt.Errorf("vde: start vde_switch: %w", err)
	}
	sw := &vdeSwitch{cmd: cmd, stdin: stdin, out: out, exited: make(chan error, 1)}
	go func() { sw.exited <- cmd.Wait() }()
	ctl := filepath.Join(dir, "ctl")
	deadline := time.Now().Add(vdeStartTimeout)
	for {
		if _, err := os.Stat(ctl); err == nil {
			return sw, nil
		}
		select {
		case err := <-sw.exited:
			sw.exited <- err
			sw.stop()
			return nil, fmt.Errorf("vde: vde_switch exited before making %s (%v): %s", ctl, err, out.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			sw.stop()
			return nil, fmt.Errorf("vde: vde_switch made no %s within %v: %s", ctl, vdeStartTimeout, out.String())
		}
	}
}

// stop ends the switch: EOF on its console, then SIGKILL if it lingers.
func (sw *vdeSwitch) stop() error {
	sw.stdin.Close()
	select {
	case err := <-sw.exited:
		return err
	case <-time.After(2 * time.Second):
	}
	err := sw.cmd.Process.Kill()
	<-sw.exited
	return errors.Join(errors.New("vde: vde_switch did not exit on EOF; killed"), err)
}
