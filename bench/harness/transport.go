package harness

import "os"

// Transport is one way of moving messages from one sender process to N
// receiver processes. BenchmarkFanout and TestFanout run every transport
// listed by Transports the same way.
//
// Setup runs in the parent process; OpenSender and OpenReceiver run in the
// child processes that the harness spawns by re-executing the test binary.
// The parent and the children find the same Transport by Name, so a Transport
// value must be stateless (and so safe for concurrent use): everything a child
// needs travels in the Plan.
type Transport interface {
	// Name identifies the transport in benchmark names and in child processes.
	Name() string
	// Setup prepares one run for n receivers and payloads of at most payload
	// bytes. It returns the files each child process inherits and an opaque
	// config string handed to every child.
	Setup(n, payload int) (*Plan, error)
	// OpenSender opens the sending side in the sender process.
	OpenSender(ep Endpoint) (Sender, error)
	// OpenReceiver opens receiver ep.Index in a receiver process.
	OpenReceiver(ep Endpoint) (Receiver, error)
}

// Sender delivers each message to every receiver of a run.
// One goroutine at a time.
type Sender interface {
	// Send delivers p to every receiver. The caller may reuse p once Send
	// returns.
	Send(p []byte) error
	// Close ends the stream: every receiver gets io.EOF after the messages
	// already sent.
	Close() error
}

// Receiver yields the messages of one receiver in order.
// One goroutine at a time.
type Receiver interface {
	// Recv returns the next message, or io.EOF once the sender has closed the
	// stream and every message was returned. The message stays valid until
	// the next call of Recv or Close (a shared-memory receiver may return a
	// view of the shared slot).
	Recv() ([]byte, error)
	// Close releases the receiver.
	Close() error
}

// Plan is what a Transport or Pair prepared in the parent for one run.
type Plan struct {
	// Config is handed unchanged to every child in Endpoint.Config.
	Config string
	// Files[p] are the files that child process p inherits, in order, as
	// Endpoint.Files. For a fan-out run, process 0 is the sender and process
	// 1+i is receiver i; for a ping-pong run, process 0 is the pinger and
	// process 1 the ponger. The harness closes the parent's copies.
	Files [][]*os.File
	// Cleanup, if set, runs in the parent after every child has exited.
	Cleanup func()
}

// Close releases the parent's side of the plan: its copies of the files and
// whatever Cleanup holds. Safe to call more than once.
func (p *Plan) Close() {
	for _, fs := range p.Files {
		for _, f := range fs {
			if f != nil {
				f.Close()
			}
		}
	}
	p.Files = nil
	if p.Cleanup != nil {
		p.Cleanup()
		p.Cleanup = nil
	}
}

// Endpoint is what a child process knows about its part in a run.
type Endpoint struct {
	// Index is the receiver's index in [0, N) for a receiver, 0 for the
	// sender, and the side (0 pinger, 1 ponger) in a ping-pong run.
	Index int
	// N is the number of receivers in the run (1 for ping-pong).
	N int
	// Payload is the largest message in bytes.
	Payload int
	// Config is Plan.Config.
	Config string
	// Files are this process's Plan.Files, inherited as file descriptors.
	Files []*os.File
}
