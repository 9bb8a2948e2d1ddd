package coordinator

import (
	"context"
	"runtime/pprof"
)

// The coordinator's long-lived goroutines. Every one is started by
// Server.start, labelled with its name (runtime/pprof: goroutine profiles
// show "ipnd"=name), and counted in Server.wg until it returns:
//
//	accept   one per Listen: takes members' control connections
//	serve    one per member: answers its requests, then releases what it held
//	pump     one per persistent interface no process controls: moves its frames
//	reclaim  one per departed member whose port a reclaim could not free yet
//
// Close stops them all: it closes the listener and every member's
// connection, and cancels Server.ctx, which the pumps and the reclaims
// watch; then it waits for wg.

// start runs f in a goroutine named name, counted in s.wg. It is called
// from Listen or from a goroutine already counted, so wg never goes from
// zero to one while Close waits.
func (s *Server) start(name string, f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		pprof.Do(s.ctx, pprof.Labels("ipnd", name), func(context.Context) { f() })
	}()
}
