package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Environment variables that turn the re-executed test binary into a child
// process. TestMain checks RoleEnv and calls RunChild.
const (
	// RoleEnv names the child's role: one of the Role constants.
	RoleEnv = "IPNBENCH_ROLE"
	// SpecEnv holds the child's spec as JSON.
	SpecEnv = "IPNBENCH_SPEC"
)

// Role is a child process's part in a run.
type Role string

// The roles of child processes.
const (
	RoleSender   Role = "sender"
	RoleReceiver Role = "receiver"
	RolePinger   Role = "pinger"
	RolePonger   Role = "ponger"
)

// Spec is everything a child process needs besides its files.
type Spec struct {
	Name    string `json:"name"`    // Transport or Pair name
	Index   int    `json:"index"`   // Endpoint.Index
	N       int    `json:"n"`       // receivers
	Payload int    `json:"payload"` // bytes per message
	Count   int    `json:"count"`   // messages (fan-out) or measured round trips
	Warmup  int    `json:"warmup"`  // unmeasured round trips before Count
	Seed    uint64 `json:"seed"`
	Verify  bool   `json:"verify"`          // receivers compare every byte
	Fault   string `json:"fault,omitempty"` // test-only: see faultReceiver
	Config  string `json:"config"`          // Plan.Config
	Files   int    `json:"files"`           // transport files after the start pipe
}

// childEnv is the environment entries that make a child of role with sp.
func childEnv(role Role, sp Spec) ([]string, error) {
	js, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	// A race-enabled child would otherwise sleep a second before exiting.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	return []string{RoleEnv + "=" + string(role), SpecEnv + "=" + string(js), "GORACE=" + gorace}, nil
}

// childSpec reads the child's role and spec from the environment.
func childSpec() (Role, Spec, error) {
	var sp Spec
	role := Role(os.Getenv(RoleEnv))
	switch role {
	case RoleSender, RoleReceiver, RolePinger, RolePonger:
	default:
		return role, sp, fmt.Errorf("bench: %s=%q, want a role", RoleEnv, role)
	}
	if err := json.Unmarshal([]byte(os.Getenv(SpecEnv)), &sp); err != nil {
		return role, sp, fmt.Errorf("bench: %s: %w", SpecEnv, err)
	}
	return role, sp, nil
}
