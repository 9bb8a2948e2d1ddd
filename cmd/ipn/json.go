package main

import (
	"fmt"
	"os"
	"time"

	"github.com/ipn-project/ipn"
)

// What ipn ls --json and ipn stat --json print: a network as package ipn
// reports it, but with the policy by name and the mode as an octal string,
// as a person writes them on the command line ("switch", "0660").

// netJSON is one network. The fields of ipn.NetInfo that it does not name
// again come through as they are.
type netJSON struct {
	ipn.NetInfo
	Policy string   `json:"policy"`
	Opts   optsJSON `json:"opts"`
}

// optsJSON is a network's options.
type optsJSON struct {
	MTU      int    `json:"mtu"`
	NumNodes int    `json:"numnodes"`
	Pool     int    `json:"pool"`
	Lossless bool   `json:"lossless"`
	Mode     string `json:"mode"` // octal, as "0660"
	History  int    `json:"history,omitempty"`
	Stall    string `json:"stall_timeout,omitempty"` // a duration, as "2s"
}

func netToJSON(n ipn.NetInfo) netJSON {
	o := n.Opts
	return netJSON{NetInfo: n, Policy: n.Policy.String(),
		Opts: optsJSON{MTU: o.MTU, NumNodes: o.NumNodes, Pool: o.Pool, Lossless: o.Lossless, Mode: modeText(o.Mode),
			History: o.History, Stall: stallText(o.StallTimeout)}}
}

func stallText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// modeText is a mode as an octal string.
func modeText(mode os.FileMode) string { return fmt.Sprintf("%04o", mode) }
