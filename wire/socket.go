package wire

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// EnvSocket overrides where the coordinator listens and members dial.
const EnvSocket = "IPN_COORDINATOR"

// EnvIdleExit, in a coordinator's environment, is the default of its
// --idle-exit flag: how long it stays with no network and no member before
// it exits ("0" keeps it running). The client sets it to AutostartIdle in
// a coordinator it starts, unless the user's environment already has it.
const EnvIdleExit = "IPN_IDLE_EXIT"

// AutostartIdle is how long a coordinator started on demand by a client
// waits, with no network and no member, before it exits.
const AutostartIdle = 30 * time.Second

// SystemSocket is the coordinator for networks shared between users.
const SystemSocket = "/run/ipn/ipnd.sock"

// DefaultSocket returns the coordinator socket of this user: $IPN_COORDINATOR
// if set, else ipn/ipnd.sock under $XDG_RUNTIME_DIR, else under a directory
// of the user's own in the temporary directory.
func DefaultSocket() string {
	if p := os.Getenv(EnvSocket); p != "" {
		return p
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "ipn", "ipnd.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("ipn-%d", os.Getuid()), "ipnd.sock")
}
