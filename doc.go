// Package ipn is the client API of ipn, inter-process networking over
// shared memory: IPN's socket calls (AF_IPN, proposed for Linux in 2007) in
// idiomatic Go.
//
// A Node is created unbound with a policy. Network options (SetMTU,
// SetNumNodes, SetPoolSize, SetLossless, SetMode) are set before Bind;
// node options (SetPort, SetDescr, SetWantOOBNumNodes) before Connect.
//
//   - Bind(path) creates the network at path, as a socket inode with the
//     node's mode less the umask, or joins an existing one for management,
//     which needs execute permission on it.
//   - Connect(path) joins it to communicate: to receive if the caller may
//     read the file, to send if it may write it; with neither it fails with
//     EACCES. Bind then Connect does both; there is no listen or accept:
//     every node is a peer.
//
// Messages keep their boundaries. Send copies a message into the network's
// shared memory once, whatever the number of recipients; Recv copies one
// out. Alloc/Submit and RecvView/Release do the same without copying.
// Deadlines, non-blocking mode (ErrAgain) and contexts bound the waits; a
// lossy network drops what a slow receiver cannot hold, a lossless one
// makes senders wait.
//
// Errors match, with errors.Is, both the package's sentinels and the errno
// IPN's calls give (EACCES, ECONNREFUSED, EPROTO, EADDRNOTAVAIL, EMSGSIZE,
// EISCONN, EAGAIN).
//
// Nodes talk to a coordinator (ipnd) to join: it checks permissions
// against the credentials the kernel gives it, hands over the network's
// shared memory, and releases what a node held when it closes or dies. It
// is found at $IPN_COORDINATOR, else in $XDG_RUNTIME_DIR/ipn, and started
// when none answers (see DaemonCommand and EnvNoAutostart). Once joined,
// messages flow through shared memory alone.
//
// The package speaks the coordinator's protocol through package wire and
// maps a network through package plane; it imports no part of the
// coordinator itself, so a program that only sends and receives links no
// server, no interface code. Its files go by concern: node.go (the Node,
// Shutdown, Close), options.go, connect.go (Bind, Connect), send.go,
// recv.go, poll.go, deadline.go, manage.go (Create, Destroy, List, Stat,
// policy options), iface.go (interface nodes), dial.go (the coordinator).
package ipn
