// Package wire is the control protocol between members and the coordinator
// (ipnd): the requests a member sends, the replies it gets, how both are
// framed, where the coordinator's socket is, and the order of the
// descriptors that hand a network's shared memory over (Handoff).
//
// Both sides import it: the client (the root package ipn) and the server
// (package coordinator); neither imports the other. It holds no state and
// starts nothing.
//
// Members talk to the coordinator over a unix SOCK_SEQPACKET socket, one
// message per packet: a header (magic "IPNC", version, kind) followed by a
// JSON body. A reply that hands over a network carries its descriptors with
// SCM_RIGHTS, in the order Handoff.FDs gives. A request that names a
// network by its path (create, join, stat, destroy, takeover) carries one
// descriptor: the network's file, opened by the member with O_PATH, which
// shows the coordinator that the member may reach it; Dev and Ino are that
// descriptor's inode, as the member saw it.
package wire
