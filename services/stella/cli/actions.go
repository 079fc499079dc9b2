package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stella-ops/inthub/shared/contracts"
)

func (a *app) newTestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "test <integration-id>",
		Short: "Test an integration now",
		Long: `Run the connectivity, authentication and functionality checks of an
integration now and show each one's status, latency and error. A check after a
failed one is skipped. Exits 1 when any check failed.`,
		Example:           "  stella config integrations test 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10\n  stella config integrations test 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 -o json",
		Args:              exactArgs("the integration id"),
		ValidArgsFunction: a.completeIntegrationIDs,
	}
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, res, err := c.Test(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		steps := []struct {
			name string
			step contracts.TestStep
		}{
			{"connectivity", res.Data.ConnectivityTest},
			{"authentication", res.Data.AuthenticationTest},
			{"functionality", res.Data.FunctionalityTest},
		}
		if err := a.emit(resp.body, func(w io.Writer) {
			row(w, "CHECK", "STATUS", "LATENCY", "ERROR")
			for _, s := range steps {
				row(w, s.name, s.step.Status, fmt.Sprintf("%dms", s.step.LatencyMs), stepError(s.step))
			}
		}); err != nil {
			return err
		}
		if res.Success {
			return nil
		}
		for _, s := range steps {
			if s.step.Status == "failed" {
				return &exitError{code: ExitError, err: fmt.Errorf("integration test failed at %s: %s", s.name, stepError(s.step))}
			}
		}
		return &exitError{code: ExitError, err: fmt.Errorf("integration test failed")}
	})
	return cmd
}

// stepError is "CODE: message", or whichever of the two is set.
func stepError(s contracts.TestStep) string { return codeMessage(s.ErrorCode, s.Message) }

// discoverFlags are discover's flags.
type discoverFlags struct {
	req contracts.DiscoveryRequest
	all bool
}

func (a *app) newDiscoverCmd() *cobra.Command {
	var f discoverFlags
	cmd := &cobra.Command{
		Use:   "discover <integration-id>",
		Short: "Discover resources of the system an integration connects to",
		Long: `List resources of one type (repositories, tags, projects, pipelines, jobs, ...)
of the connected system: one page (--limit, --cursor), or every page with --all.
Answers come from the hub's discovery cache unless --refresh is given. The
resource types a provider supports are listed by 'stella config integrations
providers'.`,
		Example: `  stella config integrations discover 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 --resource-type projects
  stella config integrations discover 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 --resource-type tags --repository myorg/app --all -o json
  stella config integrations discover 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 --resource-type repositories --name-pattern 'myapp-*' --refresh`,
		Args:              exactArgs("the integration id"),
		ValidArgsFunction: a.completeIntegrationIDs,
	}
	fs := cmd.Flags()
	fs.StringVar(&f.req.ResourceType, "resource-type", "", "what to discover (repositories, tags, projects, pipelines, jobs, ...)")
	fs.StringVar(&f.req.Filter.NamePattern, "name-pattern", "", "only names matching this glob (* matches any run of characters)")
	fs.StringVar(&f.req.Filter.Repository, "repository", "", "the repository whose tags are listed (--resource-type tags)")
	fs.IntVar(&f.req.Limit, "limit", 0, "page size (provider default when absent, at most 1000)")
	fs.StringVar(&f.req.Cursor, "cursor", "", "continue from this page cursor (a previous nextCursor)")
	fs.BoolVar(&f.req.Refresh, "refresh", false, "bypass the discovery cache and refill it")
	fs.BoolVar(&f.all, "all", false, "follow nextCursor and list every page")
	_ = cmd.MarkFlagRequired("resource-type")
	_ = cmd.RegisterFlagCompletionFunc("resource-type", a.completeResourceTypes)
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		if cmd.Flags().Changed("limit") && f.req.Limit < 1 {
			return usageErr("--limit must be at least 1")
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		body, page, err := a.discoverPages(cmd.Context(), c, args[0], f)
		if err != nil {
			return err
		}
		items := make([]contracts.Resource, len(page.Items))
		for i, raw := range page.Items {
			if err := json.Unmarshal(raw, &items[i]); err != nil {
				return fmt.Errorf("the server's resource is not the expected JSON: %w", err)
			}
		}
		if err := a.emit(body, func(w io.Writer) {
			row(w, "NAME", "ID", "ATTRIBUTES")
			for _, r := range items {
				row(w, r.Name, r.ID, attributesCell(r.Attributes))
			}
		}); err != nil {
			return err
		}
		if page.NextCursor != "" && a.output == "table" {
			fmt.Fprintf(a.stderr, "more %s: add --cursor %s, or --all\n", page.ResourceType, page.NextCursor)
		}
		return nil
	})
	return cmd
}

// discoverPages gets one page, or with --all every page merged into one
// result: the items of all pages, cacheHit only if every page was a hit, the
// oldest discoveredAt and the largest ageSeconds.
func (a *app) discoverPages(ctx context.Context, c *client, id string, f discoverFlags) ([]byte, discoveryPage, error) {
	progress := a.progress()
	defer progress("")
	progress("discovering %s ...", f.req.ResourceType)
	resp, page, err := c.Discover(ctx, id, f.req)
	if err != nil {
		return nil, page, err
	}
	if !f.all || page.NextCursor == "" {
		return resp.body, page, nil
	}
	req := f.req
	seen := map[string]bool{}
	for n := 2; page.NextCursor != ""; n++ {
		if seen[page.NextCursor] {
			return nil, page, fmt.Errorf("the server returned cursor %q twice; stopping", page.NextCursor)
		}
		seen[page.NextCursor] = true
		progress("discovering %s: page %d, %d so far", req.ResourceType, n, len(page.Items))
		req.Cursor = page.NextCursor
		_, next, err := c.Discover(ctx, id, req)
		if err != nil {
			return nil, page, err
		}
		page.Items = append(page.Items, next.Items...)
		page.NextCursor = next.NextCursor
		page.CacheHit = page.CacheHit && next.CacheHit
		if next.AgeSeconds > page.AgeSeconds {
			page.AgeSeconds = next.AgeSeconds
		}
		if next.DiscoveredAt.Before(page.DiscoveredAt) {
			page.DiscoveredAt = next.DiscoveredAt
		}
	}
	body, err := json.Marshal(page)
	return body, page, err
}

// resourceTypesOf is a provider's discoverable types, for completion.
func resourceTypesOf(info *contracts.ProviderInfo) []string {
	if info == nil {
		return nil
	}
	return info.SupportedResourceTypes
}
