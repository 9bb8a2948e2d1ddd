package wire

import (
	"errors"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/ipn-project/ipn/dispatch"
)

// fullRequest sets every field of a Request to a value other than its zero.
func fullRequest() *Request {
	return &Request{
		Op: OpJoin, Path: "/a/net \"quoted\" ünïcode <&>", Dev: 1<<63 + 5, Ino: 1<<40 + 7,
		Policy: dispatch.Hub,
		Opts:   Options{MTU: 9000, NumNodes: 63, Pool: 512, Lossless: true, Mode: 0o640},
		Bind:   true, Connect: true, Port: AnyPort, Descr: "tap0 of vm \x01\x7f",
		WantOOB: true, Persist: true, Roles: 3, NumNodes: 17,
	}
}

func fullResponse() *Response {
	info := NetInfo{
		Path: "/a/n", Policy: dispatch.Hub, Opts: Options{MTU: 1514, NumNodes: 32, Pool: 8, Mode: 0o777},
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
	err := ErrorResponse(ErrProtocol).Err()
	if !errors.Is(err, syscall.EPROTO) {
		t.Errorf("ErrorResponse(ErrProtocol).Err() = %v, want EPROTO", err)
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
	good := frame(magic, version, kindRequest, `{"op":"list"}`)
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
		{"bad magic", frame("IPND", version, kindRequest, `{"op":"list"}`)},
		{"lower-case magic", frame("ipnc", version, kindRequest, `{"op":"list"}`)},
		{"version 0", frame(magic, 0, kindRequest, `{"op":"list"}`)},
		{"version 2", frame(magic, version+1, kindRequest, `{"op":"list"}`)},
		{"kind response", frame(magic, version, kindResponse, `{"op":"list"}`)},
		{"kind 0", frame(magic, version, 0, `{"op":"list"}`)},
		{"kind 255", frame(magic, version, 255, `{"op":"list"}`)},
		{"truncated body", frame(magic, version, kindRequest, `{"op":"li`)},
		{"not json", frame(magic, version, kindRequest, `op=list`)},
		{"array body", frame(magic, version, kindRequest, `["list"]`)},
		{"wrong type", frame(magic, version, kindRequest, `{"op":1}`)},
		{"negative uint", frame(magic, version, kindRequest, `{"op":"stat","dev":-1}`)},
		{"unknown field", frame(magic, version, kindRequest, `{"op":"list","uid":0}`)},
		{"unknown nested field", frame(magic, version, kindRequest, `{"op":"list","opts":{"hops":3}}`)},
		{"trailing object", frame(magic, version, kindRequest, `{"op":"list"}{"op":"destroy"}`)},
		{"trailing word", frame(magic, version, kindRequest, `{"op":"list"} x`)},
		{"trailing brace", frame(magic, version, kindRequest, `{"op":"list"}}`)},
		{"trailing bracket", frame(magic, version, kindRequest, `{"op":"list"}]`)},
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
	if _, err := DecodeResponse(frame(magic, version, kindResponse, `{"errno":1,"uid":0}`)); !errors.Is(err, syscall.EPROTO) {
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
	f.Add([]byte(magic))
	f.Add(frame(magic, version, kindRequest, `null`))
	f.Add(frame(magic, version, kindRequest, `{"op":"list"}}`))
	f.Add(frame(magic, version, kindRequest, `{"OP":"list","Path":"\ud800"}`))
	f.Add(frame(magic, version, kindRequest, `{"op":"x","opts":{"mtu":1e3}}`))
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
