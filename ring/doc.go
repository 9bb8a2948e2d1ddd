// Package ring owns the data plane of a network: the slot pool with its
// reference bits, one ring of slot references per port (plus an
// out-of-band ring), the eventfd wake-ups, and the coordinator's
// operations that open ports and reclaim what a departed member held.
//
// # Write once, read in place
//
// A sender takes a free slot, writes the message into it once, and pushes
// the slot's index onto the ring of every recipient. Each recipient reads
// the slot where it lies (RecvView) or copies it out (Recv), then releases
// it. The slot returns to the pool when its last holder releases it.
//
// # References are bits
//
// A slot's header holds a 64-bit word with one bit per port holding a
// reference: the sender's bit while it fills and dispatches the slot, and
// each recipient's bit from dispatch until that recipient releases it. A
// slot is free exactly when the word is zero, so taking a slot is one
// compare-and-swap from zero to the taker's bit, and releasing is one
// atomic and-not. Unlike a count, clearing a bit twice is harmless, which
// is what makes reclaiming a dead member's references safe whatever
// instruction it died at: every reference is attributable to a port
// (DESIGN invariant 3) and can be dropped exactly once. This is why a
// network has at most 64 ports (shm.MaxPorts).
//
// # Ring shape
//
// Each port has one multi-producer, single-consumer ring, rather than one
// single-producer ring per sender-receiver pair. Per-receiver rings make
// IPN's LOSSY limit exact (a receiver holds at most Pool pending messages,
// whoever sent them), keep memory linear in the number of ports rather
// than quadratic, and let a receiver wait on one ring instead of scanning a
// readiness bitmap. Multi-producer rings usually let a producer that dies
// between claiming a cell and filling it wedge the consumer; here claiming
// and publishing are one compare-and-swap on a 64-bit cell (position and
// slot), so there is no half-claimed cell to wedge on, and the shared tail
// is only a hint (see queue). Order from one sender to one receiver is the
// ring's order (invariant 4).
//
// # Lossy and lossless
//
// In a lossy network a push to a ring already holding Pool entries fails
// and counts a drop against that receiver; the pool has room for every
// port's ring, views and transmit slots, so taking a slot never fails. In
// a lossless network the pool has Pool slots, a slot in use is a pending
// message (counted once, however many recipients), and rings are as large
// as the pool, so senders wait only for a free slot: spinning briefly, then
// announcing themselves in the network's waiter bitmap and sleeping on
// their transmit eventfd until a release frees a slot.
//
// # Wake-ups
//
// A receiver with nothing to read polls its rings for a while (spinner:
// tight, then yielding the core, within an adaptive time limit), then sets
// its sleep flag, looks once more, and sleeps on its eventfd. A sender
// that pushes checks the recipient's flag and writes its eventfd only if it
// is set, clearing it with a compare-and-swap so that one sender, not all,
// pays the system call. Flag and ring are each written before the other is
// read (sequentially consistent atomics), so a wake-up cannot be lost
// (invariant 6), and a receiver that keeps up costs senders nothing.
//
// # Steps and reclaim
//
// Every send and receive runs inside a short step that never waits: the
// port's step sequence is odd while inside. When a member leaves or dies,
// the coordinator's Reclaim removes its port from the readers and writers,
// waits out the steps in progress (a grace period, as in RCU), settles a
// dispatch the member was in the middle of, waits again, then drops every
// bit of the dead port and empties its rings. No member ever waits for
// another member (invariant 2): only the coordinator waits, and only for
// steps that are running.
//
// # Concurrency
//
// A Network is safe for concurrent use. A Port has a send side and a
// receive side, each for one goroutine at a time. Every index and length
// read from shared memory is bounds-checked; a bad one marks the network
// damaged and is returned as shm.ErrDamaged, never a panic.
package ring
