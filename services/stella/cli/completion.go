package cli

import (
	"sort"

	"github.com/spf13/cobra"

	"github.com/stella-ops/inthub/shared/contracts"
)

// Shell completion asks the server: an unreachable server or a missing token
// just completes nothing.

func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeIntegrationIDs offers the ids of the first page of integrations, named.
func (a *app) completeIntegrationIDs(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := a.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	_, page, err := c.List(cmd.Context(), contracts.ListQuery{Limit: 500})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	items, err := decodeIntegrations(page.Items)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out := make([]cobra.Completion, 0, len(items))
	for _, it := range items {
		out = append(out, cobra.CompletionWithDesc(it.ID, it.Name))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeProviders(cmd *cobra.Command, flag string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cat, err := a.loadProviders(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := make([]cobra.Completion, 0, len(cat.byName))
		for name, info := range cat.byName {
			out = append(out, cobra.CompletionWithDesc(name, info.Name+" ("+info.Category+")"))
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	})
}

func (a *app) completeCategories(cmd *cobra.Command, flag string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cat, err := a.loadProviders(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		seen := map[string]bool{}
		var out []cobra.Completion
		for _, info := range cat.byName {
			if !seen[info.Category] {
				seen[info.Category] = true
				out = append(out, info.Category)
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	})
}

// completeResourceTypes offers the resource types of the integration's provider.
func (a *app) completeResourceTypes(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := a.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	_, it, err := c.Get(cmd.Context(), args[0])
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cat, err := a.loadProviders(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return resourceTypesOf(cat.lookup(it.TypeID)), cobra.ShellCompDirectiveNoFileComp
}
