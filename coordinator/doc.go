// Package coordinator owns the control plane and the logic of the ipnd
// daemon: networks keyed by their socket inode, joins and permission
// checks against peer credentials, port allocation, handing each member
// the network's data plane (package plane, in the order package wire
// defines) over SCM_RIGHTS, out-of-band notices, reclaim when a member
// dies (ring.Network.Reclaim), interface nodes and their persistence, and
// resize.
//
// It speaks the control protocol of package wire, which the client (the
// root package ipn) speaks too; neither imports the other. A Server's
// long-lived goroutines are started in one place and counted until Close
// (goroutines.go).
package coordinator
