package harness

// Faults a test can inject into a receiver (FanoutOptions.fault) to prove
// that the end-to-end checks catch a transport that misbehaves.
const (
	FaultDrop    = "drop"    // lose the third message
	FaultReorder = "reorder" // deliver the second message after the third
	FaultCorrupt = "corrupt" // flip the last byte of the second message
)

// faultReceiver wraps a Receiver and misbehaves once, as its fault says.
// It copies before changing anything: the inner message may be shared
// memory that other receivers read. One goroutine at a time.
type faultReceiver struct {
	Receiver
	fault string
	n     int    // messages taken from the inner receiver
	held  []byte // a message kept back by faultReorder
	buf   []byte
}

func newFaultReceiver(r Receiver, fault string) Receiver {
	return &faultReceiver{Receiver: r, fault: fault}
}

func (f *faultReceiver) Recv() ([]byte, error) {
	if f.held != nil {
		p := f.held
		f.held = nil
		return p, nil
	}
	p, err := f.Receiver.Recv()
	if err != nil {
		return p, err
	}
	f.n++
	switch {
	case f.fault == FaultDrop && f.n == 3:
		return f.Receiver.Recv()
	case f.fault == FaultCorrupt && f.n == 2:
		f.buf = append(f.buf[:0], p...)
		f.buf[len(f.buf)-1] ^= 0xff
		return f.buf, nil
	case f.fault == FaultReorder && f.n == 2:
		f.held = append([]byte(nil), p...)
		next, err := f.Receiver.Recv()
		if err != nil {
			return f.held, nil
		}
		f.n++
		return next, nil
	}
	return p, nil
}
