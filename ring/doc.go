// Package ring owns the data plane of a network: each sender's slot pool
// and publish log, each receiver's read positions and views, the eventfd
// wake-ups, and the coordinator's operations that open ports and reclaim
// what a departed member held.
//
// The design below is layout version 2 (shm.Version). It replaces one
// segment mapped read-write by every member (version 1) with separate
// memory objects, each writable only by the party that must write it, so
// that the kernel, not the members' good manners, keeps a member from
// harming what its role does not let it touch (DESIGN invariant 10). The
// trust model that follows from it is written in docs/trust.md.
//
// # Memory objects, and who maps what
//
// Every object is a memfd made by the coordinator, sized once, sealed with
// F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL before any descriptor leaves the
// coordinator, and fchmod'ed 0600 so that a descriptor handed out read-only
// cannot be reopened read-write through /proc/self/fd/N by another uid
// (EACCES). Descriptors go out with the access the role needs and no more:
// O_RDONLY where the mapping is read-only, so that mprotect cannot turn it
// writable either (a MAP_SHARED mapping of an O_RDONLY descriptor refuses
// PROT_WRITE).
//
//	object          written by        mapped read-only by           size
//	control         coordinator       every member                  fixed: header, net line, port table
//	tx[p] (sender)  port p's member   every member that receives    pool + data log + OOB log + counters
//	rx[p] (reader)  port p's member   every member that sends       positions per sender + views + counters
//	policy          every sender      nobody (receive-only: unmapped) the policy's shared state
//
// The coordinator maps every object: read-write the control object,
// read-only the others, except its own notice port's tx object; whatever it
// reads from a member's object is bounds-checked like any other untrusted
// input. A port that may only receive has an rx object and no tx object; a
// port that may only send has a tx object and no rx object. A member maps
// the tx objects of other ports only if it receives, and their rx objects
// only if it sends: a send-only member cannot read other senders' messages.
//
// Objects belong to one incarnation of a port (the port number and its
// generation in the control object). When a port is opened again, the
// coordinator makes new objects: a member that left but kept its mappings
// still writes only into objects nobody reads any more.
//
// Members map what they are given, then close the descriptors they need not
// keep: they keep the control descriptor and their own objects' (so that a
// restarted coordinator can take them back, issue 12), their own two
// eventfds, and one eventfd per peer they wake: the receive eventfd of
// each port they send to, and, in a lossless network, the transmit
// eventfd of each port they receive from. Objects of a port that appears
// after the join are fetched from the coordinator when the member notices
// the change (the network generation in the control object moved), not 64
// of each up front.
//
// Why memfd and not a named file in /dev/shm: seals exist only on memfds,
// and F_SEAL_SHRINK is the only kernel guarantee that a member of the same
// uid as the coordinator (the per-user coordinator's case) cannot truncate
// an object under the others and kill them with SIGBUS. A memfd has no name
// a restarted coordinator could look up; instead each member keeps the
// control descriptor (read-only) and its own objects' descriptors, hands
// them back when it re-attaches, and the new coordinator, owner of the
// 0600 inode, reopens the control object read-write through /proc/self/fd.
// F_SEAL_FUTURE_WRITE on the control object was considered and left out for
// that reason: it would forbid the new coordinator's writable mapping too.
//
// # The publish log: origin cannot be forged
//
// A sender's tx object holds its slot pool and its publish log, a
// single-producer broadcast ring: entry e names a slot of the sender's own
// pool, the length, the hop count, the sender's view of the network
// generation when it composed the entry, and the recipient set chosen by
// dispatch. An entry is published by writing its sequence word (e+1) last;
// a reader reads the sequence, the fields, and the sequence again, and
// accepts the entry only if both reads say e+1 (a seqlock: the owner may
// reuse a log cell, never for an entry a recipient has not passed).
//
// The origin of a message is the object its entry is in: nobody can write
// an entry into another sender's log, and nobody can write payload into
// another sender's slots. A hostile sender can lie in its own log: name
// slots out of range, lengths past the MTU, garbage recipient sets. Every
// such field is bounds-checked by the reader, read once; a bad entry is
// skipped and counted, and that sender's port is reported damaged in the
// reader's counters. Other senders' traffic is untouched.
//
// # References without shared writes
//
// Nobody writes a word of another party's memory, so a reference is not a
// bit anyone can clear in a slot header: it is implied by positions.
//
//   - A receiver holds entry e of sender s while its read position on s's
//     log (in its own rx object) is at or before e and e names it, or while
//     one of its view records (also in its rx object) names (s, slot).
//   - A receiver releases by advancing its own position (Recv copies out
//     first, then advances) and by clearing its own view record (Release).
//   - The sender frees a slot lazily, when it needs one: the slot of entry
//     e is free once every recipient named in e has passed e and holds no
//     view of the slot, or is gone (its port not live in the control object,
//     or opened after the entry was composed: its open generation is newer
//     than the entry's generation). The sender keeps which entry uses which
//     slot in its private memory.
//
// Every reference is therefore in the memory of the party that holds it
// and attributable to it (invariant 3). A dead receiver holds nothing as
// soon as the coordinator marks its port gone in the control object; there
// is nothing to scrub, no grace period to wait out. A dead sender's entries
// stay readable, untouched, until every live receiver has passed them or
// the coordinator drops the port from the set of logs to read. No member
// waits for another member's step, and none can make another wait except as
// its role allows (a lossless receiver that stops reading stops its senders,
// as IPN's lossless networks do).
//
// # Lossy and lossless
//
// Lossy (the default): a sender never waits. Recipient r is left out of an
// entry, and a drop is counted against r in the sender's own counters,
// when r's backlog on this sender's log (tail minus r's position) is
// already Pool entries. If the sender has no free slot at all, the message
// is dropped and counted (NoSlot). A receiver that falls a whole log behind
// a sender (the log is several times Pool) loses what it had pending from
// that sender, which it detects from the sequence words and counts.
//
// Lossless: the sender waits for a free slot and a free log cell: it spins,
// then announces that it waits by making the wait sequence in its own tx
// object odd, looks again, and sleeps on its transmit eventfd. A receiver
// that advances past a sender's entries, or releases a view of its slot,
// loads that sequence and writes the sender's eventfd once per odd value.
// IPN's lossless pool counted the pending messages of the whole network;
// here each sender has its own pool of Pool slots, so the limit is Pool
// pending messages per sender (a message to many counted once).
//
// # Streaming: receivers lossy for themselves, the stall limit, history
//
// Three rules serve one producer and consumers that come and go; each
// changes only when a sender may free a slot, and each receiver checks, once
// it has copied an entry, that the rule still kept it (as a lossy receiver
// checks the sequence word), so that a slot freed under it is counted lost,
// never read torn.
//
//   - A receiver lossy for itself (shm.RoleLossy in its port's roles,
//     written by the coordinator only: at join if it asked, or on a stall
//     report) is, on a lossless network, left out of an entry when its
//     backlog is Pool, like a lossy network's receivers; and it holds an
//     entry only while that entry is less than Pool entries behind the
//     sender's tail. What such receivers hold is thus within the last Pool
//     entries, whatever their number, and the others always find a slot.
//   - The stall limit (shm.Geometry.StallMS): a lossless sender that waits
//     watches the oldest entry it waits on; when the same entry has held it
//     past the limit, it reports the receivers that hold it to the
//     coordinator (Network.SetStallReporter), which checks that they are
//     behind on that sender's log and marks them lossy for themselves.
//   - History (shm.Geometry.History): the last History entries of a data
//     log are kept whoever has passed them; entries are published with no
//     recipient then too. When a sender first composes an entry at a
//     network generation a receiver may be sent, it marks that receiver as
//     a history reader of the History entries before (in its private
//     memory); they stay referenced until the receiver passes them. The
//     receiver starts reading History entries before the first entry
//     composed after its port was opened, and reads them whatever their
//     recipients; the pool has History slots more.
//
// # Wake-ups
//
// A receiver with nothing to read polls the logs of every live sender for
// a while, then makes the sleep sequence in its own rx object odd, looks
// once more at every log, and sleeps on its eventfd. A sender that publishes
// for a recipient loads that sequence; if it is odd and not the value it
// last woke (remembered in the sender's private memory, since a sender
// cannot clear the receiver's flag), it writes the receiver's eventfd. Flag
// and log are each written before the other is read (sequentially
// consistent atomics), so a wake-up cannot be lost (invariant 6), and a
// receiver that keeps up costs senders one load per message.
//
// # One send path, and the hop limit
//
// Node.Send and Node.Submit take the same route: Port.SubmitWith, which
// drops (and counts) a message past the hop limit (MaxHops, owned here),
// runs the dispatch policy on the message in place, and publishes one entry
// for the slot with the union of the recipients the policy named (To), plus
// one entry per variant (Variant) in a slot of its own.
//
// # Ports per network
//
// A network has at most 64 ports (shm.MaxPorts: 63 for members, the last
// for the coordinator's notices). What bounds it is the recipient set, one
// 64-bit word in each log entry and in dispatch's policy interface
// (Delivery.To, NewPort's free set), not the reference bookkeeping any
// more: the log entry has room for a 256-bit set, and lifting the cap is a
// change of dispatch's set type, left for later.
//
// # Alternatives considered
//
//   - One segment, read-write for everyone (version 1): no protection at
//     all; a receive-only member could forge, alter and truncate.
//   - One read-only segment plus per-port writable state, keeping the
//     multi-producer rings and reference bits: a receiver's release would
//     still be a write into a shared word (the slot's holder bits, the
//     ring's cells), which is exactly what a hostile member turns against
//     others.
//   - One object per sender-receiver pair: private channels (a reader sees
//     only its own traffic) but memory quadratic in ports and a payload
//     written once per recipient, breaking write-once (invariant 1).
//
// # Concurrency
//
// A Network is safe for concurrent use. A Port has a send side and a
// receive side, each for one goroutine at a time. Every index, length and
// state read from another party's memory is bounds-checked and read once; a
// bad value is skipped, counted, and reported as that port's damage, never
// a panic or an out-of-range access.
package ring
