package coordinator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/internal/fdpass"
	"github.com/ipn-project/ipn/internal/unixsock"
	"github.com/ipn-project/ipn/wire"
)

// Server is the coordinator: it keeps the registry of networks and serves
// members over a unix socket. It is safe for concurrent use.
type Server struct {
	log *slog.Logger
	// SegmentDir is where segments are created (shm.Dir when empty).
	segDir string

	mu    sync.Mutex
	nets  map[netKey]*network
	ln    *net.UnixListener
	conns map[*member]struct{}
	wg    sync.WaitGroup // every long-lived goroutine (goroutines.go)
	// ctx ends when Close begins: pumps and reclaims stop on it.
	ctx  context.Context
	stop context.CancelFunc
	// ifaces are the interface nodes, told apart by namespace and index
	// (iface.where). Lock order: a network's mu, then mu.
	ifaces map[*iface]bool
	// quiet is when the last member connection closed or the last
	// network ended, whichever came later (see Idle).
	quiet time.Time

	counters counters // for Snapshot
}

// netKey names a network by its socket inode.
type netKey struct{ dev, ino uint64 }

// NewServer returns a coordinator that logs to log (slog.Default when nil)
// and creates segments in segDir (shm.Dir when empty).
func NewServer(log *slog.Logger, segDir string) *Server {
	if log == nil {
		log = slog.Default()
	}
	if segDir == "" {
		segDir = legacySegDir
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Server{log: log, segDir: segDir, nets: map[netKey]*network{}, conns: map[*member]struct{}{},
		ifaces: map[*iface]bool{}, ctx: ctx, stop: stop, quiet: time.Now()}
}

// segPrefix names this coordinator's segments: ipnd-<pid>-<dev>-<ino>, so a
// coordinator sweeps only the segments of coordinators that are gone.
const segPrefix = "ipnd-"

// Listen creates the socket at path (and its directory) and serves on it
// until Close. mode is the socket file's permission: 0600 for a per-user
// coordinator, 0666 for the system one, where each network's own file
// decides who may join.
func (s *Server) Listen(path string, mode os.FileMode) error {
	dirMode := os.FileMode(0o700)
	if mode&0o066 != 0 { // others may connect: let them reach the socket
		dirMode = 0o755
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	ln, err := unixsock.Listen("unixpacket", path)
	if err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return fmt.Errorf("coordinator: %w", err)
	}
	s.Serve(ln)
	return nil
}

// Serve serves members on ln, a unixpacket socket already listening (one
// that systemd passed in, say), until Close, which closes it.
func (s *Server) Serve(ln *net.UnixListener) {
	s.sweep()
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.log.Info("coordinator listening", "socket", ln.Addr().String())
	// The reserve is opened here, not in the goroutine, so that Serve
	// returns holding every descriptor it keeps.
	reserve := openReserve()
	s.start("accept", func() { s.acceptLoop(ln, reserve) })
}

// legacySegDir is where coordinators of layout version 1 made segment
// files; networks are memfds now, but a stale file of an older coordinator
// is still swept.
const legacySegDir = "/dev/shm"

// sweep removes segments left by coordinators that are no longer running.
func (s *Server) sweep() {
	ents, _ := os.ReadDir(s.segDir)
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, segPrefix) {
			continue
		}
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(name, segPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			if os.Remove(filepath.Join(s.segDir, name)) == nil {
				s.log.Info("removed stale segment", "name", name)
			}
		}
	}
}

// Accept's back-off after an error, such as running out of descriptors:
// it doubles from the first to the last, and starts again at the first
// once a connection is accepted.
const (
	acceptBackoffFirst = 5 * time.Millisecond
	acceptBackoffLast  = time.Second
)

// acceptLoop takes members' connections until ln is closed. An error does
// not end it: it backs off and accepts again, so that the coordinator
// serves again once resources return; out of descriptors (EMFILE, ENFILE)
// it first tells the member waiting, closing reserve, a descriptor kept
// for that, to make room (see refuseOne). It closes reserve when it ends.
func (s *Server) acceptLoop(ln *net.UnixListener, reserve int) {
	defer func() { unix.Close(reserve) }()
	backoff, lastErr := time.Duration(0), error(nil)
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			lastErr = err
			if backoff == 0 {
				backoff = acceptBackoffFirst
				s.log.Error("accept: backing off", "err", err)
			} else if backoff = 2 * backoff; backoff > acceptBackoffLast {
				backoff = acceptBackoffLast
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				reserve = s.refuseOne(ln, reserve, err)
			}
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		if backoff != 0 {
			s.log.Info("accept: serving again", "after", lastErr)
			backoff = 0
		}
		m := &member{srv: s, conn: c, port: -1}
		s.mu.Lock()
		s.conns[m] = struct{}{}
		s.mu.Unlock()
		s.start("serve", m.serve)
	}
}

// Close stops serving, drops every member and ends every network.
func (s *Server) Close() error {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	for m := range s.conns {
		m.conn.Close()
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.stop()
	s.wg.Wait()
	s.mu.Lock()
	nets := s.nets
	s.nets = map[netKey]*network{}
	s.mu.Unlock()
	for _, n := range nets {
		n.end()
	}
	return nil
}

// member is the coordinator's side of one control connection: one IPN
// node (ipn.Node) as the coordinator knows it, or an interface node it pumps.
type member struct {
	srv   *Server
	conn  *net.UnixConn
	creds Creds

	// Guarded by the network's mutex once net is set.
	net     *network
	bound   bool
	port    int // -1 when not connected
	roles   uint32
	descr   string
	wantOOB bool
	iface   *iface // the interface node this member controls, if any
	// sent closes the descriptors opened for the response being sent
	// (read-only ones of memory objects); only serve's goroutine uses it.
	sent func()
}

func (m *member) serve() {
	s := m.srv
	defer func() {
		m.leave()
		m.conn.Close()
		s.mu.Lock()
		delete(s.conns, m)
		if len(s.conns) == 0 {
			s.quiet = time.Now()
		}
		s.mu.Unlock()
	}()
	creds, err := PeerCreds(m.conn)
	if err != nil {
		s.log.Warn("peer credentials", "err", err)
		if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
			err = fmt.Errorf("coordinator out of file descriptors (limit %s), try again later: %w", nofileLimit(), err)
		}
		refuse(m.conn, err)
		return
	}
	m.creds = creds
	buf := make([]byte, wire.MaxMessage)
	for {
		n, in, err := fdpass.Recv(m.conn, buf)
		var truncated error
		if errors.Is(err, fdpass.ErrTruncated) {
			n, truncated, err = -1, err, nil
		}
		if err != nil || n == 0 {
			return
		}
		var resp *wire.Response
		var fds []int
		if n < 0 && errors.Is(truncated, syscall.EMFILE) {
			resp = wire.ErrorResponse(fmt.Errorf("coordinator: the request's descriptors could not be received (limit %s): %w", nofileLimit(), truncated))
		} else if n < 0 {
			resp = wire.ErrorResponse(fmt.Errorf("%w: message longer than %d bytes", wire.ErrProtocol, wire.MaxMessage))
		} else if req, err := wire.DecodeRequest(buf[:n]); err != nil {
			closeFDs(in)
			resp = wire.ErrorResponse(err)
		} else {
			resp, fds = m.handle(req, in)
		}
		b, err := wire.EncodeResponse(resp)
		if err != nil { // too large: say so rather than drop the member
			s.log.Error("encode response", "err", err)
			fds = nil // the network's own descriptors: not ours to close
			if b, err = wire.EncodeResponse(wire.ErrorResponse(fmt.Errorf("response too large: %w", syscall.EMSGSIZE))); err != nil {
				return
			}
		}
		err = fdpass.Send(m.conn, b, fds...)
		if m.sent != nil {
			m.sent()
			m.sent = nil
		}
		if err != nil {
			return
		}
	}
}

// openReserve opens a descriptor kept for refuseOne, or returns -1.
func openReserve() int {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

// refuseOne answers one member waiting to be accepted while the
// coordinator is out of descriptors: it closes reserve to make room,
// accepts the connection, answers with err (EMFILE) and the limit, hangs
// up, and opens its reserve again, which it returns. Without a reserve
// the member waits until a later accept succeeds.
func (s *Server) refuseOne(ln *net.UnixListener, reserve int, err error) int {
	if reserve < 0 {
		return openReserve()
	}
	unix.Close(reserve)
	if c, aerr := ln.AcceptUnix(); aerr == nil {
		refuse(c, fmt.Errorf("coordinator out of file descriptors (limit %s), try again later: %w", nofileLimit(), err))
		c.Close()
	}
	return openReserve()
}

// refuseWait bounds how long refuse waits for the member's request.
const refuseWait = time.Second

// refuse answers the first request on c with err, without serving it.
// It reads the request first: a unix socket closed with a packet unread
// resets the connection, and the member would read ECONNRESET rather than
// the answer.
func refuse(c *net.UnixConn, err error) {
	c.SetDeadline(time.Now().Add(refuseWait))
	var buf [wire.MaxMessage]byte
	if _, fds, rerr := fdpass.Recv(c, buf[:]); rerr == nil {
		closeFDs(fds)
	}
	if b, eerr := wire.EncodeResponse(wire.ErrorResponse(err)); eerr == nil {
		fdpass.Send(c, b)
	}
}

// nofileLimit is this process's RLIMIT_NOFILE, as text.
func nofileLimit() string {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		return "unknown"
	}
	return strconv.FormatUint(lim.Cur, 10)
}

// Idle returns a channel that is closed once the coordinator has had no
// network and no member connection for d (ipnd --idle-exit), or when it
// closes. It watches on a goroutine of its own until then. For d <= 0 it
// returns nil, a channel never ready: the coordinator runs until stopped.
func (s *Server) Idle(d time.Duration) <-chan struct{} {
	if d <= 0 {
		return nil
	}
	done := make(chan struct{})
	tick := min(max(d/4, 10*time.Millisecond), time.Second)
	s.start("idle", func() {
		defer close(done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
			}
			s.mu.Lock()
			idle := len(s.nets) == 0 && len(s.conns) == 0 && time.Since(s.quiet) >= d
			s.mu.Unlock()
			if idle {
				s.log.Info("idle: no network and no member", "for", d)
				return
			}
		}
	})
	return done
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// handle answers one request. in are the descriptors that came with it:
// an iface request hands its one over; for the others they are closed here
// once the request is answered (the one of a network's file included: see
// lookup).
func (m *member) handle(req *wire.Request, in []int) (*wire.Response, []int) {
	var resp *wire.Response
	var fds []int
	var err error
	if req.Op != wire.OpIface {
		defer closeFDs(in)
	}
	switch req.Op {
	case wire.OpCreate:
		resp, err = m.create(req, in)
	case wire.OpJoin:
		resp, fds, err = m.join(req, in)
	case wire.OpRoles:
		resp, err = m.setRoles(req)
	case wire.OpList:
		resp = m.srv.list(m.creds)
	case wire.OpStat:
		resp, err = m.srv.stat(req, in)
	case wire.OpDestroy:
		resp, err = m.destroy(req, in)
	case wire.OpOptions:
		resp, err = m.options()
	case wire.OpResize:
		resp, err = m.resize(req)
	case wire.OpPolicy:
		resp, err = m.policyOption(req)
	case wire.OpControl:
		resp, err = m.control(req)
	case wire.OpIface:
		resp, err = m.attachIface(req, in)
	case wire.OpTakeover:
		resp, fds, err = m.takeover(req, in)
	case wire.OpPersist:
		resp, err = m.setPersist(req)
	case wire.OpFetch:
		resp, fds, err = m.fetch(req)
	case wire.OpStall:
		resp, err = m.stall(req)
	default:
		err = fmt.Errorf("%w: unknown op %q", wire.ErrProtocol, req.Op)
	}
	if err != nil {
		if m.sent != nil {
			m.sent()
			m.sent = nil
		}
		m.srv.counters.requestErrors.Add(1)
		m.srv.log.Debug("request refused", "op", req.Op, "path", req.Path, "pid", m.creds.PID, "err", err)
		return wire.ErrorResponse(err), nil
	}
	return resp, fds
}

// callerFile returns what the caller's descriptor of the file a request
// names says of it. A request that names a network by its path carries,
// with SCM_RIGHTS, one descriptor of that file, opened by the caller (with
// O_PATH: no permission on the file itself is needed). The kernel walked
// the path with the caller's own rights to open it, so the descriptor
// shows that the caller may reach the file; the coordinator never resolves
// a caller's path with its own rights, which reach everything. A request
// without one is refused with EACCES, whatever else it says.
func callerFile(req *wire.Request, in []int) (*unix.Stat_t, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s %s: the request carries %d descriptors, not the one of the network's file that shows the caller may reach it: %w",
			req.Op, req.Path, len(in), syscall.EACCES)
	}
	var st unix.Stat_t
	if err := unix.Fstat(in[0], &st); err != nil {
		return nil, fmt.Errorf("%s %s: fstat of the caller's descriptor: %w", req.Op, req.Path, err)
	}
	if req.Dev != 0 && (st.Dev != req.Dev || st.Ino != req.Ino) {
		return nil, fmt.Errorf("%s changed while joining: %w", req.Path, syscall.ECONNREFUSED)
	}
	return &st, nil
}

// lookup finds the network whose socket inode the caller's descriptor in
// the request (see callerFile) refers to, and returns the inode's status.
// The request's path only names the network in messages.
func (s *Server) lookup(req *wire.Request, in []int) (*network, *unix.Stat_t, error) {
	st, err := callerFile(req, in)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	n := s.nets[netKey{st.Dev, st.Ino}]
	s.mu.Unlock()
	if n == nil {
		return nil, nil, fmt.Errorf("%s is no live ipn network: %w", req.Path, syscall.ECONNREFUSED)
	}
	return n, st, nil
}

// waitCtx bounds a reclaim: grace periods end quickly unless a member is
// stopped inside a step.
func waitCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), reclaimWait)
}
