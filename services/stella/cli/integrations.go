package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-ops/inthub/shared/contracts"
)

// newIntegrationsCmd builds the integrations command group. It is built
// twice: as `stella config integrations` and as the deprecated
// `stella integrations`, which behaves identically after its notice.
func (a *app) newIntegrationsCmd(deprecated bool) *cobra.Command {
	prefix := "stella config integrations"
	g := &cobra.Command{
		Use:   "integrations",
		Short: "Manage the Integration Hub's live catalog",
		Long: `Manage the integrations of the live catalog: list the providers the hub has
loaded, create, read, change and delete integrations, test them and discover
the resources of the systems they connect to.`,
		Example: `  stella config integrations providers
  stella config integrations list
  stella config integrations create --name local-minio --type objectstorage --provider s3compatible --endpoint http://minio.stella-ops.local:9000`,
		Args: a.noArgs,
		RunE: a.helpOrUnknown,
	}
	if deprecated {
		prefix = "stella integrations"
		g.Short = "Deprecated: use stella config integrations"
		g.Long = deprecationLine + ".\nIt runs the same commands, after a notice on stderr."
		g.Annotations = map[string]string{aliasAnnotation: "true"}
		g.Example = "  stella integrations list    # same as: stella config integrations list"
	}
	g.AddCommand(
		a.newProvidersCmd(),
		a.newListCmd(),
		a.newGetCmd(),
		a.newCreateCmd(),
		a.newUpdateCmd(),
		a.newDeleteCmd(),
		a.newTestCmd(),
		a.newDiscoverCmd(),
	)
	if deprecated {
		// Examples name the command as it was called.
		for _, c := range g.Commands() {
			c.Example = strings.ReplaceAll(c.Example, "stella config integrations", prefix)
		}
	}
	return g
}

func (a *app) newProvidersCmd() *cobra.Command {
	var includeTestOnly bool
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "List the providers the hub has loaded",
		Long: `List the providers of the live catalog: the --provider values create accepts
(id or alias), their category (create's --type), and the resource types
discover accepts. Test-only providers such as InMemory are hidden unless
--include-test-only is given.`,
		Example: `  stella config integrations providers
  stella config integrations providers --include-test-only -o json`,
		Args: a.noArgs,
	}
	cmd.Flags().BoolVar(&includeTestOnly, "include-test-only", false, "also list test-only providers")
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, list, err := c.Providers(cmd.Context(), includeTestOnly)
		if err != nil {
			return err
		}
		return a.emit(resp.body, func(w io.Writer) {
			row(w, "ID", "NAME", "CATEGORY", "DISCOVERY", "ALIASES")
			for _, p := range list.Items {
				name := p.Name
				if p.IsTestOnly {
					name += " (test only)"
				}
				row(w, p.ID, name, p.Category, strings.Join(p.SupportedResourceTypes, ","), strings.Join(p.Aliases, ","))
			}
		})
	})
	return cmd
}

func (a *app) newListCmd() *cobra.Command {
	var q contracts.ListQuery
	var health string
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the integrations",
		Long: `List the tenant's integrations, one page at a time (--limit, --cursor), or
every page with --all.`,
		Example: `  stella config integrations list
  stella config integrations list --type registry --label-selector environment=production
  stella config integrations list --health unhealthy --all -o json`,
		Args: a.noArgs,
	}
	f := cmd.Flags()
	f.StringVar(&q.TypeID, "provider", "", "only integrations of this provider id")
	f.StringVar(&q.Category, "type", "", "only integrations of this category (registry, scm, notification, ...)")
	f.StringVar(&q.LabelSelector, "label-selector", "", "label selector, e.g. environment=production,team!=qa")
	f.StringVar(&health, "health", "", "only integrations in this health state (healthy, degraded, unhealthy, unknown)")
	f.IntVar(&q.Limit, "limit", 0, "page size (server default 50, at most 500)")
	f.StringVar(&q.Cursor, "cursor", "", "continue from this page cursor (a previous nextCursor)")
	f.BoolVar(&all, "all", false, "follow nextCursor and list every page")
	a.completeProviders(cmd, "provider")
	a.completeCategories(cmd, "type")
	_ = cmd.RegisterFlagCompletionFunc("health", fixedCompletion("healthy", "degraded", "unhealthy", "unknown"))
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		if cmd.Flags().Changed("limit") && q.Limit < 1 {
			return usageErr("--limit must be at least 1")
		}
		q.TypeID = strings.ToLower(q.TypeID)
		q.HealthStatus = contracts.HealthStatus(strings.ToLower(health))
		c, err := a.client()
		if err != nil {
			return err
		}
		body, page, err := a.listPages(cmd.Context(), c, q, all)
		if err != nil {
			return err
		}
		items, err := decodeIntegrations(page.Items)
		if err != nil {
			return err
		}
		cat, err := a.categoriesFor(cmd.Context(), items)
		if err != nil {
			return err
		}
		if err := a.emit(body, func(w io.Writer) {
			if a.output == "wide" {
				// Wide says why: the first level that is not healthy, its
				// error code, the breaker and when the latest check ran.
				row(w, "ID", "NAME", "PROVIDER", "CATEGORY", "HEALTH", "FAILING", "CODE", "BREAKER", "LAST CHECK", "LABELS")
				for _, it := range items {
					level, code := failingLevel(it)
					row(w, it.ID, it.Name, it.TypeID, cat.category(it.TypeID), string(it.HealthStatus), level, code,
						it.CircuitBreaker, lastCheckCell(it), labelsCell(it.Labels))
				}
				return
			}
			row(w, "ID", "NAME", "PROVIDER", "CATEGORY", "HEALTH", "LABELS")
			for _, it := range items {
				row(w, it.ID, it.Name, it.TypeID, cat.category(it.TypeID), string(it.HealthStatus), labelsCell(it.Labels))
			}
		}); err != nil {
			return err
		}
		if page.NextCursor != "" && a.output == "table" {
			fmt.Fprintf(a.stderr, "more integrations: add --cursor %s, or --all\n", page.NextCursor)
		}
		return nil
	})
	return cmd
}

// listPages gets one page, or every page with all; the body is the API's
// page, or with all a page holding every item.
func (a *app) listPages(ctx context.Context, c *client, q contracts.ListQuery, all bool) ([]byte, listPage, error) {
	resp, page, err := c.List(ctx, q)
	if err != nil {
		return nil, page, err
	}
	if !all || page.NextCursor == "" {
		return resp.body, page, nil
	}
	progress := a.progress()
	defer progress("")
	seen := map[string]bool{}
	for n := 2; page.NextCursor != ""; n++ {
		if seen[page.NextCursor] {
			return nil, page, fmt.Errorf("the server returned cursor %q twice; stopping", page.NextCursor)
		}
		seen[page.NextCursor] = true
		progress("listing integrations: page %d, %d so far", n, len(page.Items))
		q.Cursor = page.NextCursor
		_, next, err := c.List(ctx, q)
		if err != nil {
			return nil, page, err
		}
		page.Items = append(page.Items, next.Items...)
		page.NextCursor = next.NextCursor
	}
	body, err := json.Marshal(page)
	return body, page, err
}

func decodeIntegrations(raw []json.RawMessage) ([]contracts.Integration, error) {
	out := make([]contracts.Integration, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, fmt.Errorf("the server's integration is not the expected JSON: %w", err)
		}
	}
	return out, nil
}

func (a *app) newGetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "get <integration-id>",
		Short:             "Show one integration",
		Example:           "  stella config integrations get 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 -o yaml",
		Args:              exactArgs("the integration id"),
		ValidArgsFunction: a.completeIntegrationIDs,
	}
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, it, err := c.Get(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return a.emitIntegration(cmd.Context(), resp.body, it)
	})
	return cmd
}

// emitIntegration prints one integration; the table is a detail view.
func (a *app) emitIntegration(ctx context.Context, body []byte, it contracts.Integration) error {
	cat, err := a.categoriesFor(ctx, []contracts.Integration{it})
	if err != nil {
		return err
	}
	return a.emit(body, func(w io.Writer) {
		lastCheck := lastCheckCell(it)
		row(w, "ID:", it.ID)
		row(w, "Name:", it.Name)
		row(w, "Provider:", it.TypeID)
		row(w, "Category:", cat.category(it.TypeID))
		row(w, "Description:", it.Description)
		row(w, "Credential ref:", it.CredentialRef)
		row(w, "Health:", fmt.Sprintf("%s (last check: %s)", it.HealthStatus, lastCheck))
		row(w, "Circuit breaker:", it.CircuitBreaker)
		if len(it.HealthChecks) == 0 {
			row(w, "Checks:", "none yet")
		} else {
			fmt.Fprintln(w, "Checks:\t")
		}
		// One line per level in the order the scheduler runs them: status,
		// latency, code, when, and the connector's (scrubbed) message.
		for _, ct := range contracts.CheckTypes {
			r, ok := it.HealthChecks[ct]
			if !ok {
				continue
			}
			row(w, "  "+string(ct), fmt.Sprintf("%s  %dms  %s  %s", r.Status, r.LatencyMs, orDash(r.ErrorCode), r.CheckedAt.UTC().Format(time.RFC3339)))
			if r.Message != "" {
				fmt.Fprintf(w, "\t  %s\n", r.Message)
			}
		}
		row(w, "Labels:", labelsCell(it.Labels))
		keys := make([]string, 0, len(it.Config))
		for k := range it.Config {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			row(w, "Config:", "")
		} else {
			fmt.Fprintln(w, "Config:\t")
		}
		for _, k := range keys {
			row(w, "  "+k, compactValue(it.Config[k]))
		}
		row(w, "Created:", it.CreatedAt.Format(time.RFC3339))
		row(w, "Updated:", it.UpdatedAt.Format(time.RFC3339))
		row(w, "Revision:", fmt.Sprint(it.Revision))
	})
}

// providerCatalog is GET /providers?includeTestOnly=true, indexed by id and alias.
type providerCatalog struct {
	byName map[string]*contracts.ProviderInfo
}

// loadProviders fetches the catalog once per invocation.
func (a *app) loadProviders(ctx context.Context) (*providerCatalog, error) {
	if a.providers != nil {
		return a.providers, nil
	}
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	_, list, err := c.Providers(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("read the provider catalog: %w", err)
	}
	p := &providerCatalog{byName: map[string]*contracts.ProviderInfo{}}
	for i := range list.Items {
		info := &list.Items[i]
		for _, n := range append([]string{info.ID}, info.Aliases...) {
			p.byName[strings.ToLower(n)] = info
		}
	}
	a.providers = p
	return p, nil
}

// lookup finds a provider by id or alias, case-insensitively.
func (p *providerCatalog) lookup(name string) *contracts.ProviderInfo {
	if p == nil {
		return nil
	}
	return p.byName[strings.ToLower(name)]
}

func (p *providerCatalog) category(typeID string) string {
	if info := p.lookup(typeID); info != nil {
		return info.Category
	}
	return ""
}

// categoriesFor loads the catalog when a table will show categories.
func (a *app) categoriesFor(ctx context.Context, items []contracts.Integration) (*providerCatalog, error) {
	if a.output != "table" || len(items) == 0 {
		return nil, nil
	}
	return a.loadProviders(ctx)
}

// progress returns a status-line printer for stderr that writes only when
// stderr is a terminal; an empty format clears the line.
func (a *app) progress() func(format string, args ...any) {
	if !a.isTerminal(a.stderr) {
		return func(string, ...any) {}
	}
	return func(format string, args ...any) {
		if format == "" {
			fmt.Fprint(a.stderr, "\r\033[K")
			return
		}
		fmt.Fprintf(a.stderr, "\r\033[K"+format, args...)
	}
}

// lastCheckCell is the time of the latest health check, or "never".
func lastCheckCell(it contracts.Integration) string {
	if it.LastHealthCheck == nil {
		return "never"
	}
	return it.LastHealthCheck.Format(time.RFC3339)
}

// failingLevel is the first check level, in the scheduler's order, whose
// latest result is not healthy, and its error code; empty when none is.
func failingLevel(it contracts.Integration) (level, code string) {
	for _, ct := range contracts.CheckTypes {
		if r, ok := it.HealthChecks[ct]; ok && r.Status != contracts.HealthHealthy {
			return string(ct), r.ErrorCode
		}
	}
	return "", ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
