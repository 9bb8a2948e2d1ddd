package vde

import (
	"errors"
	"syscall"
	"testing"
)

func TestRequestRoundTrip(t *testing.T) {
	in := Request{Type: ReqNewControl, Sock: "/tmp/vde.1234-0", Descr: "vde_plug: user=root"}
	b, err := EncodeRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != RequestLen {
		t.Fatalf("request of %d bytes, want %d", len(b), RequestLen)
	}
	out, err := DecodeRequest(b)
	if err != nil || out != in {
		t.Fatalf("DecodeRequest = %+v, %v; want %+v", out, err, in)
	}
	// libvdeplug sends the description only as long as it is.
	short := b[:MinRequestLen+len(in.Descr)]
	if out, err := DecodeRequest(short); err != nil || out != in {
		t.Fatalf("DecodeRequest(short) = %+v, %v; want %+v", out, err, in)
	}
	reply, err := EncodeReply("/tmp/sw/001.3")
	if err != nil {
		t.Fatal(err)
	}
	if path, err := DecodeReply(reply); err != nil || path != "/tmp/sw/001.3" {
		t.Fatalf("DecodeReply = %q, %v", path, err)
	}
}

func TestDecodeRequestRefuses(t *testing.T) {
	good, _ := EncodeRequest(Request{Sock: "/tmp/x"})
	for name, b := range map[string][]byte{
		"short":       good[:20],
		"bad magic":   append([]byte{1, 2, 3, 4}, good[4:]...),
		"no path":     func() []byte { c := append([]byte(nil), good...); clear(c[14 : 14+pathMax]); return c }(),
		"not unix":    func() []byte { c := append([]byte(nil), good...); c[12], c[13] = 2, 0; return c }(),
		"bad version": func() []byte { c := append([]byte(nil), good...); c[4] = 9; return c }(),
	} {
		if _, err := DecodeRequest(b); !errors.Is(err, syscall.EPROTO) {
			t.Errorf("%s: DecodeRequest = %v, want EPROTO", name, err)
		}
	}
	if _, err := EncodeRequest(Request{Sock: string(make([]byte, 200))}); err == nil {
		t.Error("a socket path too long for sockaddr_un was encoded")
	}
}

func FuzzDecodeRequest(f *testing.F) {
	good, _ := EncodeRequest(Request{Sock: "/tmp/x", Descr: "d"})
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err == nil && (r.Sock == "" || len(r.Sock) >= pathMax) {
			t.Fatalf("accepted a request with socket %q", r.Sock)
		}
	})
}
