package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/spf13/cobra"
)

// vdeAccess is who may use an ipn vde socket directory, as vde_switch's -m
// and -g set it: the mode of the sockets (the directory gets it too, with
// search permission wherever it gives read), and their group.
type vdeAccess struct {
	mode, group string // the flags' values; empty when not given
	perm        os.FileMode
	gid         int // -1: leave the group alone
}

func (a *vdeAccess) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.mode, "mode", "", "permission bits, in octal, of the sockets and the directory (as vde_switch -m; default: by the umask)")
	cmd.Flags().StringVar(&a.group, "group", "", "group, by name or number, of the sockets and the directory (as vde_switch -g)")
}

// parse checks the flags' values.
func (a *vdeAccess) parse() error {
	a.gid = -1
	if a.mode != "" {
		m, err := parseMode(a.mode, "the VDE sockets")
		if err != nil {
			return err
		}
		a.perm = m
	}
	if a.group != "" {
		g, err := user.LookupGroup(a.group)
		if err != nil {
			if _, nerr := strconv.Atoi(a.group); nerr != nil {
				return usageError(fmt.Errorf("--group %q: no such group", a.group))
			}
			g = &user.Group{Gid: a.group}
		}
		gid, err := strconv.Atoi(g.Gid)
		if err != nil {
			return usageError(fmt.Errorf("--group %q: group id %q is not a number", a.group, g.Gid))
		}
		a.gid = gid
	}
	return nil
}

// apply gives the file at path, a socket or with dir the directory, the
// mode and group asked for.
func (a *vdeAccess) apply(path string, dir bool) error {
	if a.gid >= 0 {
		if err := os.Lchown(path, -1, a.gid); err != nil {
			return fmt.Errorf("vde --group %s: %w", a.group, err)
		}
	}
	if a.mode != "" {
		perm := a.perm
		if dir {
			perm |= (perm & 0o444) >> 2 // search where it may be read
		}
		if err := os.Chmod(path, perm); err != nil {
			return fmt.Errorf("vde --mode %s: %w", a.mode, err)
		}
	}
	return nil
}
