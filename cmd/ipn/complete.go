package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ipn-project/ipn"
)

// Shell completion of flag values (ipn completion bash|zsh|fish|powershell
// writes the script): what each flag of that name accepts, wherever it
// appears.
var flagValues = map[string]func() []cobra.Completion{
	"policy": func() []cobra.Completion {
		var c []cobra.Completion
		for _, p := range policies {
			c = append(c, cobra.CompletionWithDesc(p.String(), policyHelp[p.String()]))
		}
		return c
	},
	"mirror": func() []cobra.Completion { return []cobra.Completion{"on", "off"} },
	"netns": func() []cobra.Completion { // as ip netns add makes them
		var c []cobra.Completion
		ents, _ := os.ReadDir("/run/netns")
		for _, e := range ents {
			c = append(c, e.Name())
		}
		return c
	},
}

// policyHelp says what each policy does, for completion and help.
var policyHelp = map[string]string{
	"hub":    "every message to every other node",
	"switch": "an Ethernet switch: MAC learning, VLANs, mirroring",
	"l3":     "a layer-3 switch for IP packets",
	"topics": "messages to the nodes subscribed to their topic",
}

// completeFlags registers the completion of flag values, and of network
// paths as arguments, on cmd and its subcommands.
func completeFlags(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if values, ok := flagValues[f.Name]; ok {
			cmd.RegisterFlagCompletionFunc(f.Name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return values(), cobra.ShellCompDirectiveNoFileComp
			})
		}
	})
	if use := strings.Fields(cmd.Use); cmd.ValidArgsFunction == nil && len(use) > 1 && strings.HasPrefix(use[1], "PATH") {
		cmd.ValidArgsFunction = completeNetPath
	}
	for _, sub := range cmd.Commands() {
		completeFlags(sub)
	}
}

// completeNetPath offers, for a command's first argument, the paths of the
// networks the coordinator serves, and files otherwise. It asks a running
// coordinator only: completing a word starts no daemon.
func completeNetPath(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	os.Setenv(ipn.EnvNoAutostart, "1")
	nets, err := ipn.List()
	if err != nil || len(nets) == 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var c []cobra.Completion
	for _, n := range nets {
		c = append(c, n.Path)
	}
	return c, cobra.ShellCompDirectiveDefault
}
