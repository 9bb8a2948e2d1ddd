package netns

import (
	"fmt"
	"os/exec"
	"runtime"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// NS is a network namespace: the host's (Host) or a named one this process
// made (New). Its methods are safe for concurrent use.
type NS struct {
	// Name is the namespace's name under /run/netns ("" for the host).
	Name  string
	h     vnetns.NsHandle
	nl    *netlink.Handle
	owned bool // made by New: Close deletes it
}

// Host is the namespace the process runs in. Close it when done.
func Host() (*NS, error) {
	h, err := vnetns.Get()
	if err != nil {
		return nil, fmt.Errorf("netns: current namespace: %w", err)
	}
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("netns: netlink in the host namespace: %w", err)
	}
	return &NS{h: h, nl: nl}, nil
}

// New makes a network namespace named name (bound at /run/netns/name, as
// ip netns add does, so ip netns exec finds it) with its loopback up. Close
// deletes it.
func New(name string) (*NS, error) {
	var h vnetns.NsHandle
	err := inThread(func() error {
		var err error
		h, err = vnetns.NewNamed(name) // switches this thread into it
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netns: new namespace %s: %w", name, err)
	}
	n := &NS{Name: name, h: h, owned: true}
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	if n.nl, err = netlink.NewHandleAt(h); err != nil {
		return nil, fmt.Errorf("netns: netlink in %s: %w", name, err)
	}
	if err := n.Up("lo"); err != nil {
		return nil, err
	}
	ok = true
	return n, nil
}

// Open is the existing namespace named name (under /run/netns, as ip netns
// add makes them). Close leaves it in place.
func Open(name string) (*NS, error) {
	h, err := vnetns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("netns: namespace %s: %w", name, err)
	}
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("netns: netlink in %s: %w", name, err)
	}
	return &NS{Name: name, h: h, nl: nl}, nil
}

// Close releases n; a namespace New made is deleted, and with it the
// links inside it once no process runs there any more.
func (n *NS) Close() error {
	if n.nl != nil {
		n.nl.Close()
	}
	n.h.Close()
	if !n.owned {
		return nil
	}
	if err := vnetns.DeleteNamed(n.Name); err != nil {
		return fmt.Errorf("netns: delete %s: %w", n.Name, err)
	}
	return nil
}

// String names n for messages.
func (n *NS) String() string {
	if n.Name == "" {
		return "host namespace"
	}
	return "namespace " + n.Name
}

// Do runs fn on an OS thread inside n. That thread is never reused.
func (n *NS) Do(fn func() error) error {
	return inThread(func() error {
		if err := vnetns.Set(n.h); err != nil {
			return fmt.Errorf("netns: enter %s: %w", n, err)
		}
		return fn()
	})
}

// Start starts cmd inside n. Wait for it as usual, from anywhere.
func (n *NS) Start(cmd *exec.Cmd) error {
	return n.Do(cmd.Start)
}

// Output runs a program inside n and returns its combined output.
func (n *NS) Output(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var out Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := n.Start(cmd); err != nil {
		return nil, err
	}
	err := cmd.Wait()
	return out.Bytes(), err
}

// inThread runs fn in a new goroutine locked to its OS thread and never
// unlocked, so a thread that fn moved to another namespace ends with the
// goroutine instead of going back to the runtime's pool.
func inThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("netns: panic in namespace thread: %v", p)
			}
		}()
		done <- fn()
	}()
	return <-done
}
