package wire

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvSocket overrides where the coordinator listens and members dial.
const EnvSocket = "IPN_COORDINATOR"

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
