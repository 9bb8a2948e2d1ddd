// Command ipnd is the ipn coordinator: it keeps the registry of networks,
// checks who may join them, hands members their shared memory, and
// releases what a member held when it leaves or dies. It is not on the data
// path: once joined, members exchange messages through shared memory alone.
//
// Members start one on demand (see package ipn); run it yourself, or as a
// service, to choose its socket or to serve networks shared between users
// (--system).
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/ipn-project/ipn/coordinator"
	_ "github.com/ipn-project/ipn/dispatch/topics" // policy 16, a worked example of a policy of one's own
	"github.com/ipn-project/ipn/internal/buildinfo"
	"github.com/ipn-project/ipn/wire"
)

func main() {
	socket := flag.String("socket", "", "socket to serve (default: $"+wire.EnvSocket+", else per-user)")
	system := flag.Bool("system", false, "serve the system-wide socket "+wire.SystemSocket+", open to every user (mode 0666) unless --group")
	group := flag.String("group", "", "make the socket mode 0660, owned by this group: only its members (and root) may use the coordinator")
	idle := flag.Duration("idle-exit", idleDefault(), "exit after this long with no network and no member; 0 keeps running (default: $"+wire.EnvIdleExit+", else 0)")
	verbose := flag.Bool("v", false, "log every refused request")
	metrics := flag.String("metrics", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9347 (default: off)")
	version := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *version {
		fmt.Println("ipnd", buildinfo.Read())
		return
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	path, mode := wire.DefaultSocket(), os.FileMode(0o600)
	if *system {
		path, mode = wire.SystemSocket, 0o666
	}
	if *socket != "" {
		path = *socket
	}
	gid := -1
	if *group != "" {
		var err error
		if gid, err = lookupGroup(*group); err != nil {
			fail(err)
		}
		mode = 0o660
	}
	srv := coordinator.NewServer(log, "")
	// Ask for the signals before serving, so that one sent as soon as the
	// socket answers is not lost.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	ln, err := activated()
	if err != nil {
		fail(err)
	}
	owned := ln == nil // a socket systemd passed in is systemd's to remove
	if ln != nil {
		srv.Serve(ln)
	} else if err := listen(srv, path, mode, gid); err != nil {
		fail(err)
	}
	cleanup := func() {
		srv.Close()
		if owned {
			os.Remove(path)
		}
	}
	if *metrics != "" {
		hs, _, err := serveMetrics(log, srv, *metrics)
		if err != nil {
			cleanup()
			fail(err)
		}
		defer hs.Close()
	}
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		log.Warn("readiness notification", "err", err)
	}
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case <-srv.Idle(*idle):
		log.Info("shutting down: idle", "idle-exit", idle.String())
	}
	daemon.SdNotify(false, daemon.SdNotifyStopping)
	cleanup()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ipnd:", err)
	os.Exit(1)
}

// idleDefault is --idle-exit's default: $IPN_IDLE_EXIT (set by a client
// that starts a coordinator on demand), else 0.
func idleDefault() time.Duration {
	v := os.Getenv(wire.EnvIdleExit)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		fail(fmt.Errorf("$%s=%q: %w", wire.EnvIdleExit, v, err))
	}
	return d
}

// lookupGroup returns the id of the group called name, or numbered so.
func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if gid, nerr := strconv.Atoi(name); nerr == nil && gid >= 0 {
			return gid, nil
		}
		return -1, fmt.Errorf("--group %s: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

// listen serves path with mode, owned by group gid unless it is -1.
func listen(srv *coordinator.Server, path string, mode os.FileMode, gid int) error {
	if err := srv.Listen(path, mode); err != nil {
		return err
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			srv.Close()
			os.Remove(path)
			return fmt.Errorf("socket %s: group %d: %w", path, gid, err)
		}
	}
	return nil
}

// activated returns the listening socket systemd passed in (socket
// activation: $LISTEN_FDS), or nil when there is none.
func activated() (*net.UnixListener, error) {
	files := activation.Files(true)
	if len(files) == 0 {
		return nil, nil
	}
	for _, f := range files[1:] {
		f.Close()
	}
	if len(files) > 1 {
		return nil, fmt.Errorf("systemd passed %d sockets; ipnd serves one", len(files))
	}
	l, err := net.FileListener(files[0])
	files[0].Close()
	if err != nil {
		return nil, fmt.Errorf("the socket systemd passed in: %w", err)
	}
	ul, ok := l.(*net.UnixListener)
	if !ok || ul.Addr().Network() != "unixpacket" {
		l.Close()
		return nil, errors.New("the socket systemd passed in is not a unix SOCK_SEQPACKET socket: set ListenSequentialPacket= in the socket unit")
	}
	return ul, nil
}
