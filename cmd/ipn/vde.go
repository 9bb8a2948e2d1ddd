package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn/internal/unixsock"
	"github.com/ipn-project/ipn/internal/vde"
)

func vdeCmd() *cobra.Command {
	var dir string
	var access vdeAccess
	cmd := &cobra.Command{
		Use:   "vde PATH --sock DIR",
		Short: "Serve a vde_switch socket, so that VDE programs join the network",
		Long: `vde listens where a vde_switch would, at the directory DIR (its control
socket is DIR/ctl), so that programs made for VDE join the ipn network at
PATH: vde_plug, QEMU's -nic vde,sock=DIR, and anything else built on
libvdeplug. Each program that plugs in gets a port of its own, described as
it asked, for as long as it stays; Ethernet frames go both ways. It runs
until interrupted.

--mode and --group set who may plug in, as vde_switch's -m and -g do: the
mode and group of the control socket and of the directory, which also gets
search permission wherever the mode gives read (--mode 0660 --group kvm: the
directory is 0770, and QEMU run by a member of kvm plugs in); each port's
data socket gets them too, though libvdeplug then sets that one's mode as
its program asks.`,
		Example: `  ipn create ./lan --policy switch
  ipn vde ./lan --sock /tmp/lan.vde &
  qemu-system-x86_64 ... -nic vde,sock=/tmp/lan.vde
  vde_plug /tmp/lan.vde = ...
  ipn vde ./lan --sock /run/lan.vde --mode 0660 --group kvm`,
		Args: onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return usageError(&explained{msg: "vde needs --sock DIR, where VDE programs will find the network", err: syscall.EINVAL})
			}
			if err := access.parse(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serveVDE(ctx, cmd, args[0], dir, &access)
		}),
	}
	cmd.Flags().StringVar(&dir, "sock", "", "the directory VDE programs plug into (made if missing)")
	access.addFlags(cmd)
	return cmd
}

func serveVDE(ctx context.Context, cmd *cobra.Command, path, dir string, access *vdeAccess) error {
	// The network must be there before VDE programs can be told it is.
	probe, err := cableNode(path, "vde probe")
	if err != nil {
		return err
	}
	probe.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("vde: %w", err)
	}
	if err := access.apply(dir, true); err != nil {
		return err
	}
	ctl := filepath.Join(dir, "ctl")
	ln, err := unixsock.Listen("unix", ctl)
	if err != nil {
		return fmt.Errorf("vde: %w", err)
	}
	defer ln.Close()
	if err := access.apply(ctl, false); err != nil {
		return err
	}
	defer context.AfterFunc(ctx, func() { ln.Close() })()
	fmt.Fprintf(cmd.OutOrStdout(), "vde for %s listening on %s\n", path, dir)
	var wg sync.WaitGroup
	defer wg.Wait()
	var seq atomic.Int64
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("vde: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := vdePort(ctx, c, path, dir, access, seq.Add(1)); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "ipn vde: %v\n", err)
			}
		}()
	}
}

// vdePort serves one VDE program, plugged in on control connection c: a
// node of its own in the network, a datagram socket in dir, frames both
// ways until the program closes c.
func vdePort(ctx context.Context, c *net.UnixConn, path, dir string, access *vdeAccess, seq int64) error {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, vde.RequestLen)
	got := 0
	// The program writes its request at once, its description cut to its
	// length: take what arrives, once there is the fixed part.
	for got < vde.MinRequestLen {
		k, err := c.Read(b[got:])
		if err != nil {
			return fmt.Errorf("a VDE program's request (%d bytes): %w", got, err)
		}
		got += k
	}
	req, err := vde.DecodeRequest(b[:got])
	if err != nil {
		return err
	}
	c.SetReadDeadline(time.Time{})
	n, mtu, err := cableNodeMTU(path, "vde "+req.Descr)
	if err != nil {
		return err
	}
	defer n.Close()
	sock := filepath.Join(dir, fmt.Sprintf("%03d.%d", n.Port(), seq))
	os.Remove(sock)
	data, err := net.DialUnix("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"}, &net.UnixAddr{Name: req.Sock, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("vde: data socket for %s: %w", req.Sock, err)
	}
	defer os.Remove(sock)
	defer data.Close()
	if err := access.apply(sock, false); err != nil {
		return err
	}
	reply, err := vde.EncodeReply(sock)
	if err != nil {
		return err
	}
	if _, err := c.Write(reply); err != nil {
		return err
	}
	toProgram := func() error {
		buf := make([]byte, mtu)
		for {
			k, err := n.Recv(buf)
			if err != nil {
				return err
			}
			// A program gone from the other end leaves its socket behind
			// until it closes c: frames meanwhile are dropped.
			if _, err := data.Write(buf[:k]); err != nil && !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOBUFS) && !errors.Is(err, syscall.EAGAIN) {
				return err
			}
		}
	}
	fromProgram := func() error {
		buf := make([]byte, mtu+1)
		for {
			k, err := data.Read(buf)
			if err != nil {
				return err
			}
			if k > mtu {
				continue // longer than the network carries: dropped
			}
			if err := n.Send(buf[:k]); err != nil {
				return err
			}
		}
	}
	gone := func() error { // the program closes its control connection to leave
		io.Copy(io.Discard, c)
		return io.EOF
	}
	return untilOneEnds(ctx, func() { n.Close(); data.Close(); c.Close() }, toProgram, fromProgram, gone)
}
