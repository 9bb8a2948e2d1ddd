package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/ipn-project/ipn/internal/buildinfo"
)

// manCmd writes the manual pages of ipn and its commands, made from the
// commands' own help. It is hidden: packagers run it, users read the
// pages.
func manCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write manual pages for ipn and every command into DIR",
		Hidden: true,
		Long: `man writes a manual page in section 1 for ipn and for each of its commands
(ipn.1, ipn-create.1, ...) into DIR, made from the same text as --help. Then
man -l DIR/ipn.1 shows one, and copying them to /usr/local/share/man/man1
installs them.`,
		Example: `  go run ./cmd/ipn man ./man && man -l ./man/ipn-capture.1`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // the same pages from the same source, whenever made
			hdr := &doc.GenManHeader{Title: "IPN", Section: "1", Source: "ipn " + buildinfo.Read().Version, Manual: "ipn manual"}
			if err := doc.GenManTree(root, hdr, dir); err != nil {
				return fmt.Errorf("writing manual pages into %s: %w", dir, err)
			}
			return nil
		}),
	}
}
