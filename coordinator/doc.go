// Package coordinator will own the control plane and the logic of the ipnd
// daemon: networks keyed by their socket inode, joins and permission checks
// against peer credentials, port allocation, handing segments and eventfds
// to members over SCM_RIGHTS, out-of-band notices, reclaim when a member
// dies (ring.Network.Reclaim), persistence and resize.
//
// Until it exists, programs that start their own members (tests, the
// benchmarks, ipn demo) play its part with internal/member.
package coordinator
