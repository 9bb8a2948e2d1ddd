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
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ipn-project/ipn/coordinator"
	_ "github.com/ipn-project/ipn/dispatch/topics" // policy 16, a worked example of a policy of one's own
	"github.com/ipn-project/ipn/internal/buildinfo"
	"github.com/ipn-project/ipn/wire"
)

func main() {
	socket := flag.String("socket", "", "socket to serve (default: $"+wire.EnvSocket+", else per-user)")
	system := flag.Bool("system", false, "serve the system-wide socket "+wire.SystemSocket+", open to every user")
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
	srv := coordinator.NewServer(log, "")
	if err := srv.Listen(path, mode); err != nil {
		fmt.Fprintln(os.Stderr, "ipnd:", err)
		os.Exit(1)
	}
	if *metrics != "" {
		hs, _, err := serveMetrics(log, srv, *metrics)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ipnd:", err)
			srv.Close()
			os.Remove(path)
			os.Exit(1)
		}
		defer hs.Close()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	log.Info("shutting down", "signal", s.String())
	srv.Close()
	os.Remove(path)
}
