package coordinator

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Creds is the identity of a member process as the kernel reports it for the
// control connection: never what the member claims (DESIGN invariant 7).
//
// UID and GID are the effective ids the peer had when it called connect(2)
// (SO_PEERCRED). Groups are its supplementary groups, read when the
// coordinator accepted the connection (see PeerCreds).
//
// A Creds is a plain value: safe to copy and to read from many goroutines.
type Creds struct {
	PID      int
	UID, GID uint32
	Groups   []uint32
}

// PeerCreds returns the credentials of the process at the other end of conn.
//
// The pid, uid and gid come from SO_PEERCRED. The supplementary groups come
// from the "Groups:" line of the peer's status file in procfs, which names
// the process by pid, and a pid can be reused once its process has exited
// and been reaped. The coordinator therefore calls PeerCreds at connect
// time, right after accepting, and PeerCreds closes the window the kernel
// leaves open: it holds a pidfd for the peer (SO_PEERPIDFD, or pidfd_open
// right after SO_PEERCRED on kernels before 6.5) and, after reading the
// groups, checks that this very process still exists, so the pid could not
// have been reused while the groups were read. If the peer is gone, the
// error wraps the cause (ENOENT from procfs, or ESRCH).
//
// The peer's pid must be visible in the coordinator's pid namespace, and its
// status file readable (procfs mounted without hidepid, or the coordinator
// privileged); otherwise PeerCreds fails and the member is refused.
func PeerCreds(conn *net.UnixConn) (Creds, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return Creds{}, fmt.Errorf("coordinator: peer credentials: %w", err)
	}
	var (
		uc          *unix.Ucred
		pidfd       = -1
		uerr, pferr error
	)
	err = rc.Control(func(fd uintptr) {
		uc, uerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if uerr == nil {
			pidfd, pferr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD)
		}
	})
	if err == nil {
		err = uerr
	}
	if err != nil {
		return Creds{}, fmt.Errorf("coordinator: getsockopt SO_PEERCRED: %w", err)
	}
	c := Creds{PID: int(uc.Pid), UID: uc.Uid, GID: uc.Gid}
	if c.PID <= 0 {
		return Creds{}, fmt.Errorf("coordinator: peer credentials: peer pid %d is not visible in this pid namespace", c.PID)
	}

	switch {
	case pferr == nil:
	case errors.Is(pferr, unix.ENOPROTOOPT):
		// Before Linux 6.5: take a pidfd now, as close to SO_PEERCRED as we
		// can. (EINVAL is no such case: from Linux 6.5 to 6.15 it means the
		// peer is already reaped, and its pid may belong to another process.)
		pidfd, pferr = unix.PidfdOpen(c.PID, 0)
		if errors.Is(pferr, unix.ENOSYS) {
			pidfd, pferr = -1, nil // before Linux 5.3: no pidfds at all
		}
		if pferr != nil {
			return Creds{}, fmt.Errorf("coordinator: peer pid %d: pidfd_open: %w", c.PID, pferr)
		}
	default:
		return Creds{}, fmt.Errorf("coordinator: peer pid %d: getsockopt SO_PEERPIDFD: %w", c.PID, pferr)
	}
	if pidfd >= 0 {
		defer unix.Close(pidfd)
	}

	groups, err := groupsOf(c.PID)
	if err != nil {
		return Creds{}, err
	}
	if pidfd >= 0 {
		// Signal 0 only checks that the process exists. EPERM says it exists
		// but belongs to someone the coordinator may not signal.
		if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil && !errors.Is(err, unix.EPERM) {
			return Creds{}, fmt.Errorf("coordinator: peer pid %d is gone, so the groups read for it cannot be trusted: %w", c.PID, err)
		}
	}
	c.Groups = groups
	return c, nil
}

// groupsOf returns the supplementary groups of process pid from procfs.
func groupsOf(pid int) ([]uint32, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("coordinator: groups of pid %d: no such process", pid)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil, fmt.Errorf("coordinator: groups of pid %d: %w", pid, err)
	}
	groups, err := parseGroups(b)
	if err != nil {
		return nil, fmt.Errorf("coordinator: groups of pid %d: %w", pid, err)
	}
	return groups, nil
}

// errStatus is returned, wrapped, for a status text parseGroups cannot read.
var errStatus = errors.New("malformed process status")

// parseGroups returns the group ids on the one "Groups:" line of a procfs
// status text. The kernel writes them in decimal, each followed by a space,
// after a tab; the line is empty ("Groups:\t") for a process without
// supplementary groups. A missing or repeated line, or a field that is not a
// decimal uint32, is an error.
func parseGroups(status []byte) ([]uint32, error) {
	var (
		groups []uint32
		found  bool
	)
	for rest := status; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		fields, ok := bytes.CutPrefix(line, []byte("Groups:"))
		if !ok {
			continue
		}
		if found {
			return nil, fmt.Errorf("%w: two Groups lines", errStatus)
		}
		found = true
		groups = []uint32{}
		for _, f := range bytes.FieldsFunc(fields, func(r rune) bool { return r == ' ' || r == '\t' }) {
			g, err := strconv.ParseUint(string(f), 10, 32)
			if err != nil {
				if len(f) > 24 {
					f = append(f[:24:24], "..."...)
				}
				return nil, fmt.Errorf("%w: group %q is not a group id", errStatus, f)
			}
			groups = append(groups, uint32(g))
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: no Groups line", errStatus)
	}
	return groups, nil
}
