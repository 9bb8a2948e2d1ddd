package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"syscall"

	"github.com/ipn-project/ipn/internal/errno"
)

// Header fields.
const (
	magic     = "IPNC"
	version   = 1
	headerLen = 8
	// MaxMessage bounds one control message, header included.
	MaxMessage = 64 << 10
)

// Kinds of message.
const (
	kindRequest  = 1
	kindResponse = 2
)

// ErrProtocol reports a malformed control message.
var ErrProtocol = errno.New("malformed ipn control message", syscall.EPROTO)

// encode frames v as a message of the given kind.
func encode(kind byte, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if headerLen+len(body) > MaxMessage {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrProtocol, headerLen+len(body), MaxMessage)
	}
	b := make([]byte, 0, headerLen+len(body))
	b = append(b, magic...)
	b = append(b, version, kind, 0, 0)
	return append(b, body...), nil
}

// decode checks a message's header and decodes its body into v.
func decode(b []byte, kind byte, v any) error {
	if len(b) < headerLen {
		return fmt.Errorf("%w: %d bytes, shorter than a header", ErrProtocol, len(b))
	}
	if string(b[:4]) != magic {
		return fmt.Errorf("%w: bad magic %q", ErrProtocol, b[:4])
	}
	if b[4] != version {
		return fmt.Errorf("%w: version %d, want %d", ErrProtocol, b[4], version)
	}
	if b[5] != kind {
		return fmt.Errorf("%w: kind %d, want %d", ErrProtocol, b[5], kind)
	}
	d := json.NewDecoder(bytes.NewReader(b[headerLen:]))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the body", ErrProtocol)
	}
	return nil
}

// EncodeRequest frames a request.
func EncodeRequest(r *Request) ([]byte, error) { return encode(kindRequest, r) }

// DecodeRequest decodes a framed request.
func DecodeRequest(b []byte) (*Request, error) {
	var r Request
	if err := decode(b, kindRequest, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// EncodeResponse frames a response.
func EncodeResponse(r *Response) ([]byte, error) { return encode(kindResponse, r) }

// DecodeResponse decodes a framed response.
func DecodeResponse(b []byte) (*Response, error) {
	var r Response
	if err := decode(b, kindResponse, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
