package netdev

import (
	"context"
	"errors"
	"sync"
	"syscall"
)

// Port is the node side of a pump: *ipn.Node is one.
type Port interface {
	Send(frame []byte) error
	Recv(frame []byte) (int, error)
}

// Pump moves frames both ways between dev and node until ctx ends or
// either side fails: frames the host sends on the interface enter the
// network, frames the network delivers to the node reach the host. It
// closes dev when it returns, which also ends a Recv waiting on dev's
// behalf only if the caller closes the node; callers close the node after
// Pump returns. Buffers are allocated once, for mtu-byte frames.
func Pump(ctx context.Context, dev Device, node Port, mtu int) error {
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	stop := context.AfterFunc(ctx, func() { dev.Close() })
	defer stop()
	wg.Add(2)
	go func() { // outbound flow: interface → network
		defer wg.Done()
		buf := make([]byte, mtu)
		for {
			n, err := dev.Read(buf)
			if err != nil {
				errs <- err
				return
			}
			if err := node.Send(buf[:n]); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() { // inbound flow: network → interface
		defer wg.Done()
		buf := make([]byte, mtu)
		for {
			n, err := node.Recv(buf)
			if err != nil {
				errs <- err
				return
			}
			if _, err := dev.Write(buf[:n]); err != nil {
				// An interface whose link is down refuses frames (EIO):
				// drop them, as a switch port that is down does.
				if errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENETDOWN) {
					continue
				}
				errs <- err
				return
			}
		}
	}()
	err := <-errs
	dev.Close()
	if ctx.Err() != nil {
		err = nil
	}
	// The inbound goroutine may sit in Recv: it returns when the caller
	// closes the node, which it does after Pump; don't wait for it here.
	go func() { wg.Wait(); close(errs) }()
	return err
}
