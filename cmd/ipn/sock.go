package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn/internal/sockgw"
	"github.com/ipn-project/ipn/internal/unixsock"
)

func sockCmd() *cobra.Command {
	var (
		file  string
		cfg   sockgw.Config
		mode  uint32
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "sock PATH --listen FILE",
		Short: "Serve a SOCK_SEQPACKET socket, so that programs in any language join the network",
		Long: `sock listens on a unix SOCK_SEQPACKET socket at FILE. Each connection is a node
of the network at PATH, with the roles the connecting process's own
credentials give it on PATH's file (SO_PEERCRED and its groups): r to
receive, w to send. One packet is one message, both ways, boundaries kept.
A half the node lacks is shut at once (no r: the peer reads end-of-file;
no w: its sends fail with EPIPE), and the peer's shutdown(SHUT_WR) or
SHUT_RD drops the node's role and changes the network's counts. A message
longer than the network's MTU ends that connection: its last message is
"IPN-SOCK/1 error EMSGSIZE ...", then end-of-file.

With --hello, each connection's first message is a hello, answered by one
message before any other:
  IPN-SOCK/1
  descr=camera 1       (optional: the node's description)
  send=drop            (optional: wait, the default, or drop when a
                        lossless network has no room)
answered "IPN-SOCK/1 ok port=N roles=rw mtu=M", or "IPN-SOCK/1 error ERRNO
text" before the connection ends. It runs until interrupted.`,
		Example: `  ipn create /tmp/cam --lossless
  ipn sock /tmp/cam --listen /tmp/cam.sock &
  python3 -c 'import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect("/tmp/cam.sock"); print(s.recv(65536))'
  socat -u FILE:frames.bin UNIX-CONNECT:/tmp/cam.sock,type=5`,
		Args: onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return &explained{msg: "sock needs --listen FILE, the socket programs connect to", err: syscall.EINVAL}
			}
			cfg.Path = args[0]
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serveSock(ctx, cmd, file, os.FileMode(mode), cfg, quiet)
		}),
	}
	cmd.Flags().StringVar(&file, "listen", "", "the socket file programs connect to")
	cmd.Flags().Uint32Var(&mode, "mode", 0o666, "permission bits of the socket file (who may connect; the network's own permissions give the roles)")
	cmd.Flags().BoolVar(&cfg.Hello, "hello", false, "each connection's first message is a hello with its options")
	cmd.Flags().StringVar(&cfg.Descr, "descr", "", "the nodes' description when no hello gives one (default: the peer's pid and uid)")
	cmd.Flags().BoolVar(&cfg.Drop, "drop", false, "in a lossless network with no room, drop a message rather than wait, unless a hello says otherwise")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "log no line per connection")
	return cmd
}

func serveSock(ctx context.Context, cmd *cobra.Command, file string, mode os.FileMode, cfg sockgw.Config, quiet bool) error {
	// The network must be there before programs are told it is.
	probe, err := cableNode(cfg.Path, "sock probe")
	if err != nil {
		return err
	}
	probe.Close()
	ln, err := unixsock.Listen("unixpacket", file)
	if err != nil {
		return fmt.Errorf("sock: %w", err)
	}
	defer ln.Close()
	if err := os.Chmod(file, mode); err != nil {
		return fmt.Errorf("sock: %w", err)
	}
	level := slog.LevelInfo
	if quiet {
		level = slog.LevelWarn
	}
	cfg.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	fmt.Fprintf(cmd.OutOrStdout(), "sock for %s listening on %s\n", cfg.Path, file)
	return sockgw.Serve(ctx, ln, cfg)
}
