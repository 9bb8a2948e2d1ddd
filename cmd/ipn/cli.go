package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/dispatch/topics"
)

// The subcommands that manage networks and move data through them. Each is
// a thin layer over the client API of package ipn; the coordinator does the
// work and its errors already say what went wrong, so the commands mostly
// add the context a person needs (which path, which flag).

// netCommands returns the commands added to ipn's root.
func netCommands() []*cobra.Command {
	return []*cobra.Command{
		createCmd(), destroyCmd(), lsCmd(), statCmd(), sendCmd(), recvCmd(), daemonCmd(),
	}
}

// daemonCommand makes the command with which the client library starts a
// coordinator: this program re-executed as "ipn daemon", so that ipn works
// without an installed ipnd.
func daemonCommand(socket string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	return exec.Command(self, "daemon", "--socket", socket)
}

// policies are those --policy accepts, by the names their String gives:
// IPN's (IPN_HUB, IPN_VDESWITCH, IPN_VDESWITCH_L3) and the topics example.
var policies = []ipn.Policy{ipn.Hub, ipn.Switch, ipn.L3, topics.Number}

func parsePolicy(s string) (ipn.Policy, error) {
	for _, p := range policies {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, usageError(fmt.Errorf("--policy %q: want one of %s", s, policyNames()))
}

// policyNames lists the policies by name, for help and errors.
func policyNames() string {
	var names []string
	for _, p := range policies {
		names = append(names, p.String())
	}
	return strings.Join(names, ", ")
}

// parseMode reads the value of a --mode flag: permission bits in octal,
// not all zero, since then nobody could use what (the network, say).
func parseMode(s, what string) (os.FileMode, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o777 {
		return 0, usageError(fmt.Errorf("--mode %q: want octal permission bits such as 0660", s))
	}
	if m == 0 {
		return 0, usageError(fmt.Errorf("--mode 0: nobody could use %s; give bits such as 0660", what))
	}
	return os.FileMode(m), nil
}

// onePath accepts exactly one argument, the network's path.
func onePath(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s wants one argument, the network's PATH, not %d", cmd.Name(), len(args))
	}
	return nil
}

// runE wraps a command's body so that its error reads well after main's
// "ipn: " prefix.
func runE(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return tidy(f(cmd, args))
	}
}

// tidy drops the "ipn: " prefix that errors of package ipn carry, since
// main adds its own.
func tidy(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "ipn: ") {
		return err
	}
	return &explained{msg: strings.TrimPrefix(msg, "ipn: "), err: err}
}

// explained is an error with a message for a person that still matches
// what it wraps with errors.Is.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// netPathError says plainly that path names no network, when that is why
// err happened.
func netPathError(path string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return &explained{msg: path + ": no such file, so no network there", err: err}
	case errors.Is(err, syscall.ECONNREFUSED) && !isSentinel(err, ipn.ErrNoCoordinator):
		return &explained{msg: path + " is not a live ipn network", err: err}
	}
	return err
}

// isSentinel reports whether target itself is in err's chain, where
// errors.Is would also accept any error with target's errno.
func isSentinel(err, target error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if err == target {
			return true
		}
	}
	return false
}
