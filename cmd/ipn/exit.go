package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn/internal/buildinfo"
)

// Exit statuses, as documented in ipn --help and the README.
const (
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line was wrong: an unknown command or flag, a bad flag value, the wrong number of arguments
)

// exitHelp is what ipn --help says of exit statuses.
const exitHelp = `
Exit status: 0 on success, 1 when a command fails, 2 when the command line is
wrong (an unknown command or flag, a bad flag value, the wrong number of
arguments).`

// observeCommands returns the commands that look at ipn itself and at its
// networks' traffic, added to ipn's root.
func observeCommands() []*cobra.Command {
	return []*cobra.Command{captureCmd(), topCmd(), versionCmd(), manCmd()}
}

// usageErr is an error in the command line rather than in what the
// command did: ipn exits with status 2 for it.
type usageErr struct{ err error }

func (e *usageErr) Error() string { return e.err.Error() }
func (e *usageErr) Unwrap() error { return e.err }

// usageError marks err as a usage error.
func usageError(err error) error {
	if err == nil {
		return nil
	}
	return &usageErr{err}
}

// run executes the command tree under root with the process's arguments
// and returns the exit status: 0, exitFailure, or exitUsage.
func run(root *cobra.Command) int {
	prepare(root)
	cmd, err := root.ExecuteC()
	return report(root.ErrOrStderr(), cmd, err)
}

// prepare sets up what every command shares: --version, the exit statuses
// in the help, usage errors marked as such, and flag-value completion.
func prepare(root *cobra.Command) {
	root.Version = buildinfo.Read().String()
	root.SetVersionTemplate("ipn {{.Version}}\n")
	root.Long += "\n" + exitHelp
	root.SuggestionsMinimumDistance = 2
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	// With Args set, cobra leaves an unknown command to the root's own
	// validation, which only a runnable command gets.
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return errors.New(msg)
	}
	if root.Run == nil && root.RunE == nil {
		root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	markUsage(root)
	completeFlags(root)
}

// markUsage makes the argument checks of cmd and its subcommands return
// usage errors.
func markUsage(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error { return usageError(check(c, args)) }
	}
	for _, sub := range cmd.Commands() {
		markUsage(sub)
	}
}

// report prints err, if any, for the command that failed, and returns the
// exit status for it.
func report(stderr io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "ipn:", err)
	var u *usageErr
	if !errors.As(err, &u) {
		return exitFailure
	}
	if cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return exitUsage
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print ipn's version: the module version and the commit it was built from",
		Long: `version prints the version of this build of ipn, as the Go toolchain recorded
it: the module version (set by go install ...@version; "(devel)" for a build in
a checkout), the version-control commit, its time, and the Go version. ipn
--version prints the same.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "ipn", buildinfo.Read())
			return err
		},
	}
}
