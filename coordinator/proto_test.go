package coordinator

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/internal/fdpass"
)

// fullRequest sets every field of a Request to a value other than its zero.
func fullRequest() *Request {
	return &Request{
		Op: OpJoin, Path: "/a/net \"quoted\" ünïcode <&>", Dev: 1<<63 + 5, Ino: 1<<40 + 7,
		Policy: PolicyHub,
		Opts:   NetOptions{MTU: 9000, NumNodes: 63, Pool: 512, Lossless: true, Mode: 0o640},
		Bind:   true, Connect: true, Port: AnyPort, Descr: "tap0 of vm \x01\x7f",
		WantOOB: true, Persist: true, Roles: 3, NumNodes: 17,
	}
}

func fullResponse() *Response {
	info := NetInfo{
		Path: "/a/n", Policy: PolicyHub, Opts: NetOptions{MTU: 1514, NumNodes: 32, Pool: 8, Mode: 0o777},
		Persistent: true, Ports: 2, Bound: 1, Readers: 2, Writers: 1,
	}
	return &Response{
		Errno: int(syscall.EACCES), Error: "permission denied: x", Net: &info, Port: 5, Roles: 1,
		Nets: []NetInfo{info, {Path: "/a/m"}},
		Ports: []PortInfo{{Port: 0, Descr: "d", PID: 42, UID: 1000, Read: true, Write: true,
			Sent: 1 << 50, SentBytes: 2, Received: 3, ReceivedBytes: 4, Dropped: 5, Blocked: 6, Queued: 7}},
		NumFDs: 65,
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for _, req := range []*Request{
		{},
		{Op: OpList},
		{Op: OpStat, Path: "/x", Dev: 1, Ino: 2},
		{Op: OpJoin, Port: 0, Connect: true},
		fullRequest(),
	} {
		b, err := EncodeRequest(req)
		if err != nil {
			t.Fatalf("EncodeRequest(%+v): %v", req, err)
		}
		got, err := DecodeRequest(b)
		if err != nil {
			t.Fatalf("DecodeRequest(EncodeRequest(%+v)): %v\nwire: %q", req, err, b)
		}
		if !reflect.DeepEqual(got, req) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, req)
		}
		if _, err := DecodeResponse(b); !errors.Is(err, ErrProtocol) {
			t.Errorf("a request decoded as a response: %v, want ErrProtocol", err)
		}
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, resp := range []*Response{
		{},
		{Port: -1},
		{Errno: int(syscall.EPROTO), Error: "bad"},
		fullResponse(),
	} {
		b, err := EncodeResponse(resp)
		if err != nil {
			t.Fatalf("EncodeResponse(%+v): %v", resp, err)
		}
		got, err := DecodeResponse(b)
		if err != nil {
			t.Fatalf("DecodeResponse(EncodeResponse(%+v)): %v\nwire: %q", resp, err, b)
		}
		if !reflect.DeepEqual(got, resp) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, resp)
		}
		if _, err := DecodeRequest(b); !errors.Is(err, ErrProtocol) {
			t.Errorf("a response decoded as a request: %v, want ErrProtocol", err)
		}
	}
}

func TestResponseErr(t *testing.T) {
	if err := (&Response{}).Err(); err != nil {
		t.Errorf("empty response: Err() = %v, want nil", err)
	}
	err := errResponse(ErrProtocol).Err()
	if !errors.Is(err, syscall.EPROTO) {
		t.Errorf("errResponse(ErrProtocol).Err() = %v, want EPROTO", err)
	}
	if err := (&Response{Error: "no errno"}).Err(); !errors.Is(err, syscall.EIO) {
		t.Errorf("response with a message and no errno: Err() = %v, want EIO", err)
	}
	if err := (&Response{Errno: int(syscall.EACCES)}).Err(); !errors.Is(err, syscall.EACCES) {
		t.Errorf("response with errno and no message: Err() = %v, want EACCES", err)
	}
}

// frame builds a message by hand: header fields then body.
func frame(magic string, version, kind byte, body string) []byte {
	b := append([]byte(magic), version, kind, 0, 0)
	return append(b, body...)
}

func TestDecodeRefuses(t *testing.T) {
	good := frame(protoMagic, protoVersion, kindRequest, `{"op":"list"}`)
	if _, err := DecodeRequest(good); err != nil {
		t.Fatalf("hand-built request refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"short header", good[:headerLen-1]},
		{"header only", good[:headerLen]},
		{"bad magic", frame("IPND", protoVersion, kindRequest, `{"op":"list"}`)},
		{"lower-case magic", frame("ipnc", protoVersion, kindRequest, `{"op":"list"}`)},
		{"version 0", frame(protoMagic, 0, kindRequest, `{"op":"list"}`)},
		{"version 2", frame(protoMagic, protoVersion+1, kindRequest, `{"op":"list"}`)},
		{"kind response", frame(protoMagic, protoVersion, kindResponse, `{"op":"list"}`)},
		{"kind 0", frame(protoMagic, protoVersion, 0, `{"op":"list"}`)},
		{"kind 255", frame(protoMagic, protoVersion, 255, `{"op":"list"}`)},
		{"truncated body", frame(protoMagic, protoVersion, kindRequest, `{"op":"li`)},
		{"not json", frame(protoMagic, protoVersion, kindRequest, `op=list`)},
		{"array body", frame(protoMagic, protoVersion, kindRequest, `["list"]`)},
		{"wrong type", frame(protoMagic, protoVersion, kindRequest, `{"op":1}`)},
		{"negative uint", frame(protoMagic, protoVersion, kindRequest, `{"op":"stat","dev":-1}`)},
		{"unknown field", frame(protoMagic, protoVersion, kindRequest, `{"op":"list","uid":0}`)},
		{"unknown nested field", frame(protoMagic, protoVersion, kindRequest, `{"op":"list","opts":{"hops":3}}`)},
		{"trailing object", frame(protoMagic, protoVersion, kindRequest, `{"op":"list"}{"op":"destroy"}`)},
		{"trailing word", frame(protoMagic, protoVersion, kindRequest, `{"op":"list"} x`)},
		{"trailing brace", frame(protoMagic, protoVersion, kindRequest, `{"op":"list"}}`)},
		{"trailing bracket", frame(protoMagic, protoVersion, kindRequest, `{"op":"list"}]`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeRequest(tc.b)
			if err == nil {
				t.Fatalf("DecodeRequest(%q) = %+v, want an error", tc.b, r)
			}
			if !errors.Is(err, ErrProtocol) || !errors.Is(err, syscall.EPROTO) {
				t.Errorf("DecodeRequest(%q): %v, want ErrProtocol (EPROTO)", tc.b, err)
			}
			if r != nil {
				t.Errorf("DecodeRequest(%q) returned %+v with its error", tc.b, r)
			}
		})
	}
	// A response is held to the same rules.
	if _, err := DecodeResponse(frame(protoMagic, protoVersion, kindResponse, `{"errno":1,"uid":0}`)); !errors.Is(err, syscall.EPROTO) {
		t.Errorf("response with an unknown field: %v, want EPROTO", err)
	}
}

func TestEncodeRefusesOversize(t *testing.T) {
	_, err := EncodeRequest(&Request{Op: OpStat, Path: strings.Repeat("a", MaxMessage)})
	if !errors.Is(err, ErrProtocol) {
		t.Errorf("request of more than MaxMessage bytes: %v, want ErrProtocol", err)
	}
}

// FuzzDecodeRequest feeds the decoder arbitrary bytes, as a hostile member
// may: it must never panic, every refusal must be ErrProtocol, and whatever
// it accepts must encode again and decode to the same request.
func FuzzDecodeRequest(f *testing.F) {
	for _, r := range []*Request{{}, {Op: OpList}, fullRequest(), {Op: OpJoin, Port: 3, Connect: true, Path: "/n"}} {
		b, err := EncodeRequest(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(nil))
	f.Add([]byte(protoMagic))
	f.Add(frame(protoMagic, protoVersion, kindRequest, `null`))
	f.Add(frame(protoMagic, protoVersion, kindRequest, `{"op":"list"}}`))
	f.Add(frame(protoMagic, protoVersion, kindRequest, `{"OP":"list","Path":"\ud800"}`))
	f.Add(frame(protoMagic, protoVersion, kindRequest, `{"op":"x","opts":{"mtu":1e3}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("DecodeRequest(%q): %v, not ErrProtocol", b, err)
			}
			return
		}
		enc, err := EncodeRequest(r)
		if err != nil {
			t.Fatalf("DecodeRequest(%q) = %+v, which does not encode: %v", b, r, err)
		}
		again, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("re-encoded %+v as %q, which does not decode: %v", r, enc, err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoding changed the request:\nfirst  %+v\nsecond %+v", r, again)
		}
	})
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
func exchange(t *testing.T, c *net.UnixConn, pkt []byte, in ...int) (*Response, error) {
	t.Helper()
	if err := fdpass.Send(c, pkt, in...); err != nil {
		t.Fatalf("send %d bytes: %v", len(pkt), err)
	}
	buf := make([]byte, MaxMessage)
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
	return DecodeResponse(buf[:n])
}

func listOK(t *testing.T, c *net.UnixConn) {
	t.Helper()
	b, err := EncodeRequest(&Request{Op: OpList})
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
	unknownOp, _ := EncodeRequest(&Request{Op: "frobnicate"})
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{"random bytes", []byte("\x00\xffGET / HTTP/1.0\r\n\r\n")},
		{"short", []byte("IPN")},
		{"bad magic", frame("XXXX", protoVersion, kindRequest, `{"op":"list"}`)},
		{"bad version", frame(protoMagic, 9, kindRequest, `{"op":"list"}`)},
		{"response kind", frame(protoMagic, protoVersion, kindResponse, `{"op":"list"}`)},
		{"unknown field", frame(protoMagic, protoVersion, kindRequest, `{"op":"list","admin":true}`)},
		{"trailing", frame(protoMagic, protoVersion, kindRequest, `{"op":"list"}{"op":"list"}`)},
		{"unknown op", unknownOp},
		{"longer than MaxMessage", append(frame(protoMagic, protoVersion, kindRequest, `{"op":"list","path":"`), bytes.Repeat([]byte("a"), MaxMessage)...)},
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
// MaxMessage. The coordinator must still answer, and keep the connection.
func TestServerAnswersLongErrors(t *testing.T) {
	sock := testServer(t)
	c := dialServer(t, sock)
	path := "/" + strings.Repeat("<", 20000)
	b := frame(protoMagic, protoVersion, kindRequest, `{"op":"stat","path":"`+path+`"}`)
	if _, err := DecodeRequest(b); err != nil {
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
func createNet(t *testing.T, sock string, opts NetOptions) (path string, dev, ino uint64) {
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
	b, _ := EncodeRequest(&Request{Op: OpCreate, Path: path, Dev: st.Dev, Ino: st.Ino, Policy: PolicyHub, Opts: opts, Persist: true})
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
	path, dev, ino := createNet(t, sock, NetOptions{MTU: 64, NumNodes: 2, Pool: 1})
	c := dialServer(t, sock)
	b, _ := EncodeRequest(&Request{Op: OpJoin, Connect: true, Path: path, Dev: dev, Ino: ino,
		Policy: PolicyHub, Port: AnyPort, Descr: strings.Repeat("d", 129)})
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
	raw := frame(protoMagic, protoVersion, kindRequest, fmt.Sprintf(`{"op":"join","connect":true,"path":%q,"dev":%d,"ino":%d,"policy":1,"port":-1,"descr":"%s"}`,
		path, dev, ino, strings.Repeat("<", 40000)))
	if resp, err := exchange(t, c2, raw, netFD(t, path)); err == nil && resp.Err() == nil {
		t.Log("the coordinator accepted a join with a 40000-byte description")
	}
	b, _ = EncodeRequest(&Request{Op: OpStat, Path: path, Dev: dev, Ino: ino})
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
	path, dev, ino := createNet(t, sock, NetOptions{MTU: 64, NumNodes: ports, Pool: 1})
	for i := 0; i < ports; i++ {
		b, _ := EncodeRequest(&Request{Op: OpJoin, Connect: true, Path: path, Dev: dev, Ino: ino,
			Policy: PolicyHub, Port: AnyPort, Descr: strings.Repeat("<", 128)})
		resp, err := exchange(t, dialServer(t, sock), b, netFD(t, path))
		if err == nil {
			err = resp.Err()
		}
		if err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
	}
	c := dialServer(t, sock)
	b, _ := EncodeRequest(&Request{Op: OpStat, Path: path, Dev: dev, Ino: ino})
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
