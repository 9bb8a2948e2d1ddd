package stream

import (
	"errors"
	"fmt"
	"time"

	"github.com/ipn-project/ipn/ring"
)

// EndMarker, sent out of band, tells receivers the stream is over: they
// drain what is queued and stop.
const EndMarker = "END!"

// SendOptions shape a stream sent by Send.
type SendOptions struct {
	Seed     int64
	Count    int
	Size     int  // fixed message length; 0 varies it up to the MTU
	NonBlock bool // use TrySend and retry on EAGAIN
}

// SendStats count what Send did.
type SendStats struct{ Sent, Again int }

// Send sends a stream to every other reader of p's network, then the end
// marker.
func Send(p *ring.Port, o SendOptions) (SendStats, error) {
	buf := make([]byte, p.MTU())
	var st SendStats
	var wait time.Time
	for seq := uint64(0); seq < uint64(o.Count); seq++ {
		if seq%4096 == 0 {
			wait = time.Now().Add(time.Minute)
		}
		m := buf[:Len(o.Size, p.MTU(), seq)]
		Fill(m, o.Seed, seq)
		to := p.Network().Readers() &^ (1 << p.ID())
		for {
			var err error
			if o.NonBlock {
				_, err = p.TrySend(m, to, 0)
			} else {
				_, err = p.Send(m, to, 0, wait)
			}
			if errors.Is(err, ring.ErrAgain) {
				st.Again++
				time.Sleep(50 * time.Microsecond)
				continue
			}
			if err != nil {
				return st, fmt.Errorf("send %d: %w", seq, err)
			}
			break
		}
		st.Sent++
	}
	return st, SendEnd(p)
}

// SendEnd sends the end marker to every other reader.
func SendEnd(p *ring.Port) error {
	tx, err := p.Alloc(time.Now().Add(time.Minute))
	if err != nil {
		return fmt.Errorf("end marker: %w", err)
	}
	n := copy(tx.Buf, EndMarker)
	_, err = p.SubmitOOB(tx, n, p.Network().Readers()&^(1<<p.ID()))
	return err
}

// Receive checks a stream until the end marker, then drains what is left.
// With view it reads in place (zero-copy) instead of copying.
func Receive(p *ring.Port, seed int64, view bool) (Result, error) {
	c := NewChecker(seed, p.MTU())
	buf := make([]byte, p.MTU())
	ended := false
	var wait time.Time
	for i := 0; ; i++ {
		var data []byte
		var info ring.Info
		var v ring.View
		var err error
		if i%4096 == 0 { // reading the clock per message would cost more than the message
			wait = time.Now().Add(time.Minute)
		}
		switch {
		case view && ended:
			v, err = p.TryRecvView()
		case view:
			v, err = p.RecvView(wait)
		case ended:
			var k int
			k, info, err = p.TryRecv(buf)
			data = buf[:k]
		default:
			var k int
			k, info, err = p.Recv(buf, wait)
			data = buf[:k]
		}
		if view && err == nil {
			data, info = v.Data, v.Info
		}
		if ended && errors.Is(err, ring.ErrAgain) {
			return c.Result(), nil
		}
		if err != nil {
			return c.Result(), fmt.Errorf("after %d messages: %w", c.Received, err)
		}
		if !info.OOB {
			c.Check(data)
		} else if string(data) == EndMarker {
			ended = true
		} else {
			c.Bad++
		}
		if view {
			p.Release(v)
		}
	}
}
