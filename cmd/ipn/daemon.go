package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn/coordinator"
	"github.com/ipn-project/ipn/wire"
)

// daemonCmd runs the coordinator in this process, as ipnd does. The client
// library starts it (see daemonCommand) when no coordinator answers, so
// that the ipn command alone is enough.
func daemonCmd() *cobra.Command {
	var (
		socket  string
		system  bool
		verbose bool
		idle    time.Duration
	)
	cmd := &cobra.Command{
		Use:    "daemon",
		Hidden: true,
		Short:  "Run the coordinator, as ipnd does",
		Long: `daemon runs the ipn coordinator in the foreground until SIGTERM or SIGINT, as
the ipnd command does. ipn starts it by itself when no coordinator answers.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			path, mode := wire.DefaultSocket(), os.FileMode(0o600)
			if system {
				path, mode = wire.SystemSocket, 0o666
			}
			if socket != "" {
				path = socket
			}
			// Ask for the signals before serving, so that one sent as soon
			// as the socket answers is not lost.
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
			defer signal.Stop(sig)
			srv := coordinator.NewServer(log, "")
			if err := srv.Listen(path, mode); err != nil {
				return err
			}
			select {
			case s := <-sig:
				log.Info("shutting down", "signal", s.String())
			case <-srv.Idle(idle):
				log.Info("shutting down: idle", "idle-exit", idle.String())
			}
			srv.Close()
			os.Remove(path)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&socket, "socket", "", "socket to serve (default: $"+wire.EnvSocket+", else per-user)")
	f.BoolVar(&system, "system", false, "serve the system-wide socket "+wire.SystemSocket+", open to every user")
	f.BoolVarP(&verbose, "verbose", "v", false, "log every refused request")
	f.DurationVar(&idle, "idle-exit", 0, "exit after this long with no network and no member; 0 keeps running (default: $"+wire.EnvIdleExit+", else 0)")
	if v := os.Getenv(wire.EnvIdleExit); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			idle = d
		}
	}
	return cmd
}
