package coordinator

import (
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Access is a set of permissions on a network file, with the values of one
// class of mode bits: binding an existing network needs AccessExec (N3),
// connecting needs AccessRead to receive and AccessWrite to send (N4).
//
// An Access is a plain value, safe for concurrent use.
type Access uint32

// The permissions, valued like the mode bits r (4), w (2) and x (1).
const (
	// AccessExec is x: needed to bind (join for management).
	AccessExec Access = 1 << iota
	// AccessWrite is w: needed to connect as a sender.
	AccessWrite
	// AccessRead is r: needed to connect as a receiver.
	AccessRead
)

// accessAll is every bit an Access may hold.
const accessAll = AccessRead | AccessWrite | AccessExec

// String returns a in the form ls(1) uses for one class, such as "r-x".
func (a Access) String() string {
	if a&^accessAll != 0 {
		return "Access(" + strconv.FormatUint(uint64(a), 8) + ")"
	}
	b := []byte("---")
	if a&AccessRead != 0 {
		b[0] = 'r'
	}
	if a&AccessWrite != 0 {
		b[1] = 'w'
	}
	if a&AccessExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// Allowed reports whether a process with credentials c has every permission
// in want on a file owned by fileUID:fileGID with permission bits mode (only
// the low nine bits of mode are read, so a full st_mode may be passed).
//
// It is the POSIX rule, as the kernel applies it to a file that is not a
// directory:
//   - uid 0 may always read and write, and may execute if any of the three
//     x bits is set (CAP_DAC_OVERRIDE);
//   - otherwise exactly one class applies, the first that matches: owner if
//     c.UID is fileUID, else group if c.GID or one of c.Groups is fileGID,
//     else other. Only that class's bits count: an owner without a bit is
//     denied even when the group or other class has it.
//
// An empty want is allowed; bits outside accessAll are never allowed. ACLs
// and capabilities other than root's are not consulted.
func Allowed(c Creds, fileUID, fileGID, mode uint32, want Access) bool {
	if want&^accessAll != 0 {
		return false
	}
	has, _ := effective(c, fileUID, fileGID, mode)
	return want&^has == 0
}

// effective returns the permissions c has on the file and the name of the
// class they come from.
func effective(c Creds, fileUID, fileGID, mode uint32) (Access, string) {
	switch {
	case c.UID == 0:
		has := AccessRead | AccessWrite
		if mode&0o111 != 0 {
			has |= AccessExec
		}
		return has, "root"
	case c.UID == fileUID:
		return Access(mode>>6) & accessAll, "owner"
	case inGroup(c, fileGID):
		return Access(mode>>3) & accessAll, "group"
	default:
		return Access(mode) & accessAll, "other"
	}
}

// inGroup reports whether gid is c's primary or one of its supplementary
// groups.
func inGroup(c Creds, gid uint32) bool {
	if c.GID == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// Check returns nil if c has every permission in want on the network file
// described by st, and otherwise an error that wraps EACCES (so
// errors.Is(err, syscall.EACCES) holds) and says what was wanted and what
// the process has, for example
//
//	permission denied: bind needs x on the network, uid 1001 has r-- (group)
//
// An empty want is refused too: a connect that asks neither to receive nor
// to send fails with EACCES (N4). Check reads only the owner, group and
// permission bits of st; whether st is a network at all is the caller's
// question.
func Check(c Creds, st *unix.Stat_t, want Access) error {
	if st == nil {
		return fmt.Errorf("%w: no file to check against", unix.EACCES)
	}
	if want == 0 {
		return fmt.Errorf("%w: connect needs r or w on the network, and asked for neither", unix.EACCES)
	}
	if Allowed(c, st.Uid, st.Gid, st.Mode, want) {
		return nil
	}
	op := "connect"
	switch {
	case want == AccessExec:
		op = "bind"
	case want&AccessExec != 0:
		op = "bind and connect"
	}
	has, class := effective(c, st.Uid, st.Gid, st.Mode)
	return fmt.Errorf("%w: %s needs %s on the network, uid %d has %v (%s)",
		unix.EACCES, op, letters(want), c.UID, has, class)
}

// letters returns want as the letters it holds, such as "rw" or "x".
func letters(want Access) string {
	if want&^accessAll != 0 {
		return want.String()
	}
	var b []byte
	for _, p := range []struct {
		a Access
		l byte
	}{{AccessRead, 'r'}, {AccessWrite, 'w'}, {AccessExec, 'x'}} {
		if want&p.a != 0 {
			b = append(b, p.l)
		}
	}
	return string(b)
}

// mayReach reports whether a process with credentials c may reach the file
// at the absolute path p, as the kernel would judge a lookup of p: search
// permission (x) on every directory above it, under the rule of Allowed.
// uid 0 reaches everything. A directory the coordinator cannot stat counts
// as one c cannot search. Like Allowed, it reads mode bits only.
//
// Requests that name a network prove reachability with a descriptor the
// caller opened (the kernel's own walk); mayReach is for the requests that
// name none: a listing, and an interface named by its name.
func mayReach(c Creds, p string) bool {
	if c.UID == 0 {
		return true
	}
	if !filepath.IsAbs(p) {
		return false
	}
	for d := filepath.Dir(filepath.Clean(p)); ; d = filepath.Dir(d) {
		var st unix.Stat_t
		if unix.Stat(d, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR ||
			!Allowed(c, st.Uid, st.Gid, st.Mode, AccessExec) {
			return false
		}
		if d == "/" {
			return true
		}
	}
}
