package coordinator

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/ipn-project/ipn/wire"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/internal/fdpass"
)

// frame builds a control message by hand: the header fields of package
// wire's framing (magic, version, kind 1 for a request, 2 for a response),
// then the body.
func frame(magic string, version, kind byte, body string) []byte {
	b := append([]byte(magic), version, kind, 0, 0)
	return append(b, body...)
}

// testServer starts a coordinator on a socket of its own.
func testServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s := NewServer(slog.New(slog.DiscardHandler), dir)
	sock := filepath.Join(dir, "ipnd.sock")
	if err := s.Listen(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return sock
}

func dialServer(t *testing.T, sock string) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange sends one raw packet, with the descriptors in, and decodes the
// answer.
func exchange(t *testing.T, c *net.UnixConn, pkt []byte, in ...int) (*wire.Response, error) {
	t.Helper()
	if err := fdpass.Send(c, pkt, in...); err != nil {
		t.Fatalf("send %d bytes: %v", len(pkt), err)
	}
	buf := make([]byte, wire.MaxMessage)
	n, fds, err := fdpass.Recv(c, buf)
	for _, fd := range fds {
		syscall.Close(fd)
	}
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("the coordinator closed the connection")
	}
	return wire.DecodeResponse(buf[:n])
}

func listOK(t *testing.T, c *net.UnixConn) {
	t.Helper()
	b, err := wire.EncodeRequest(&wire.Request{Op: wire.OpList})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := exchange(t, c, b)
	if err != nil {
		t.Fatalf("list after garbage: %v", err)
	}
	if err := resp.Err(); err != nil {
		t.Fatalf("list after garbage refused: %v", err)
	}
}

// TestServerRefusesGarbage talks to a live coordinator over a real
// unixpacket socket: each malformed message gets an EPROTO answer, and the
// same connection then serves a valid request.
func TestServerRefusesGarbage(t *testing.T) {
	sock := testServer(t)
	c := dialServer(t, sock)
	unknownOp, _ := wire.EncodeRequest(&wire.Request{Op: "frobnicate"})
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{"random bytes", []byte("\x00\xffGET / HTTP/1.0\r\n\r\n")},
		{"short", []byte("IPN")},
		{"bad magic", frame("XXXX", 1, 1, `{"op":"list"}`)},
		{"bad version", frame("IPNC", 9, 1, `{"op":"list"}`)},
		{"response kind", frame("IPNC", 1, 2, `{"op":"list"}`)},
		{"unknown field", frame("IPNC", 1, 1, `{"op":"list","admin":true}`)},
		{"trailing", frame("IPNC", 1, 1, `{"op":"list"}{"op":"list"}`)},
		{"unknown op", unknownOp},
		{"longer than wire.MaxMessage", append(frame("IPNC", 1, 1, `{"op":"list","path":"`), bytes.Repeat([]byte("a"), wire.MaxMessage)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := exchange(t, c, tc.pkt)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if err := resp.Err(); !errors.Is(err, syscall.EPROTO) {
				t.Errorf("answer %+v: error %v, want EPROTO", resp, err)
			}
			listOK(t, c)
		})
	}
}

// TestServerAnswersLongErrors sends a well-formed request whose error
// message quotes its path, and whose path is made of characters that JSON
// writes longer than it reads ('<' goes as \u003c): the answer outgrows
// wire.MaxMessage. The coordinator must still answer, and keep the connection.
func TestServerAnswersLongErrors(t *testing.T) {
	sock := testServer(t)
	c := dialServer(t, sock)
	path := "/" + strings.Repeat("<", 20000)
	b := frame("IPNC", 1, 1, `{"op":"stat","path":"`+path+`"}`)
	if _, err := wire.DecodeRequest(b); err != nil {
		t.Fatalf("request refused: %v", err)
	}
	resp, err := exchange(t, c, b)
	if err != nil {
		t.Fatalf("stat of a %d-byte path (a %d-byte request): %v", len(path), len(b), err)
	}
	if resp.Err() == nil {
		t.Errorf("stat of a %d-byte path succeeded", len(path))
	}
	listOK(t, c)
}

// TestServerEmptyPacket: an empty packet cannot be told from the end of the
// connection on a SOCK_SEQPACKET socket, so the coordinator may drop that
// connection, but it must go on serving others.
func TestServerEmptyPacket(t *testing.T) {
	sock := testServer(t)
	c := dialServer(t, sock)
	if _, err := c.Write(nil); err != nil {
		t.Fatal(err)
	}
	listOK(t, dialServer(t, sock))
}

// createNet registers a network at a fresh path through the protocol, as
// a member does: it makes the socket inode, then asks for create.
func createNet(t *testing.T, sock string, opts wire.Options) (path string, dev, ino uint64) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "net")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	b, _ := wire.EncodeRequest(&wire.Request{Op: wire.OpCreate, Path: path, Dev: st.Dev, Ino: st.Ino, Policy: dispatch.Hub, Opts: opts, Persist: true})
	resp, err := exchange(t, dialServer(t, sock), b, netFD(t, path))
	if err == nil {
		err = resp.Err()
	}
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	return path, st.Dev, st.Ino
}

// netFD opens the network file at path as a member does for a request
// that names it, with O_PATH; the descriptor lasts until the test ends.
func netFD(t *testing.T, path string) int {
	t.Helper()
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// TestServerRefusesLongDescription: the coordinator, not only the client
// library, holds descriptions to IPN_DESCRLEN (128 bytes).
func TestServerRefusesLongDescription(t *testing.T) {
	sock := testServer(t)
	path, dev, ino := createNet(t, sock, wire.Options{MTU: 64, NumNodes: 2, Pool: 1})
	c := dialServer(t, sock)
	b, _ := wire.EncodeRequest(&wire.Request{Op: wire.OpJoin, Connect: true, Path: path, Dev: dev, Ino: ino,
		Policy: dispatch.Hub, Port: wire.AnyPort, Descr: strings.Repeat("d", 129)})
	resp, err := exchange(t, c, b, netFD(t, path))
	if err != nil {
		t.Fatalf("join with a 129-byte description: %v", err)
	}
	if err := resp.Err(); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("join with a 129-byte description: %v, want EINVAL", err)
	}
	listOK(t, c)

	// What a description of any length does: one member's makes every
	// stat of the network too long to answer.
	c2 := dialServer(t, sock)
	raw := frame("IPNC", 1, 1, fmt.Sprintf(`{"op":"join","connect":true,"path":%q,"dev":%d,"ino":%d,"policy":1,"port":-1,"descr":"%s"}`,
		path, dev, ino, strings.Repeat("<", 40000)))
	if resp, err := exchange(t, c2, raw, netFD(t, path)); err == nil && resp.Err() == nil {
		t.Log("the coordinator accepted a join with a 40000-byte description")
	}
	b, _ = wire.EncodeRequest(&wire.Request{Op: wire.OpStat, Path: path, Dev: dev, Ino: ino})
	resp, err = exchange(t, c, b, netFD(t, path))
	if err != nil {
		t.Fatalf("stat after a member joined with a 40000-byte description: %v", err)
	}
	if err := resp.Err(); err != nil {
		t.Errorf("stat after a member joined with a 40000-byte description: %v", err)
	}
}

// TestServerStatFullNetwork: a stat of a network whose 63 ports all carry
// 128-byte descriptions made of characters JSON escapes ('<' goes as
// \u003c) must still be answered: members choose their descriptions, and
// must not be able to break the administrator's tools.
func TestServerStatFullNetwork(t *testing.T) {
	const ports = 63
	sock := testServer(t)
	path, dev, ino := createNet(t, sock, wire.Options{MTU: 64, NumNodes: ports, Pool: 1})
	for i := 0; i < ports; i++ {
		b, _ := wire.EncodeRequest(&wire.Request{Op: wire.OpJoin, Connect: true, Path: path, Dev: dev, Ino: ino,
			Policy: dispatch.Hub, Port: wire.AnyPort, Descr: strings.Repeat("<", 128)})
		resp, err := exchange(t, dialServer(t, sock), b, netFD(t, path))
		if err == nil {
			err = resp.Err()
		}
		if err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
	}
	c := dialServer(t, sock)
	b, _ := wire.EncodeRequest(&wire.Request{Op: wire.OpStat, Path: path, Dev: dev, Ino: ino})
	resp, err := exchange(t, c, b, netFD(t, path))
	if err != nil {
		t.Fatalf("stat of a network with %d described ports: %v", ports, err)
	}
	if err := resp.Err(); err != nil {
		t.Fatalf("stat of a network with %d described ports: %v", ports, err)
	}
	if len(resp.Ports) != ports {
		t.Errorf("stat listed %d ports, want %d", len(resp.Ports), ports)
	}
	listOK(t, c)
}
