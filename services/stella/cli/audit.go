package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-ops/inthub/shared/contracts"
)

// The audit command: GET /api/v1/audit, who changed which integration or
// notification rule, when and what.

func (a *app) newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Who changed which integration or notification rule, when and what",
		Long: `Audit records: one per create, update and delete of an integration or a
notification rule, naming the token (or OIDC subject) that made it and the
fields it changed. Secret config fields and credential references are shown as
changed, never with their values. A tenant's token reads its own tenant's
records; an operator's reads every tenant's (--tenant narrows).`,
		Example: "  stella audit list --resource-type integration --since 7d",
		Args:    a.noArgs,
		RunE:    a.helpOrUnknown,
	}
	cmd.AddCommand(a.newAuditListCmd())
	return cmd
}

func (a *app) newAuditListCmd() *cobra.Command {
	var resourceType, resourceID, actor, tenant, since, cursor string
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit records, oldest first",
		Long: `List audit records, oldest first, one page at a time (--limit, --cursor), or
every page with --all. -o wide adds the old and new values of each change.`,
		Example: `  stella audit list --resource-id 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10
  stella audit list --actor ci --since 24h -o wide
  stella audit list --tenant 0193a0b4-0000-7000-8000-000000000001 --all -o json`,
		Args: a.noArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&resourceType, "resource-type", "", "integration or notification-rule")
	fs.StringVar(&resourceID, "resource-id", "", "only records of this integration or rule")
	fs.StringVar(&actor, "actor", "", "only changes by this token name or OIDC subject")
	fs.StringVar(&tenant, "tenant", "", "operators: only this tenant's records")
	fs.StringVar(&since, "since", "", "start at this time: RFC 3339, or a duration before now (90s, 15m, 2h, 3d)")
	fs.IntVar(&limit, "limit", 0, "page size (server default 50, at most 500)")
	fs.StringVar(&cursor, "cursor", "", "go on from a previous page's nextCursor")
	fs.BoolVar(&all, "all", false, "follow nextCursor and list every page")
	_ = cmd.RegisterFlagCompletionFunc("resource-type", fixedCompletion(contracts.AuditResourceTypes...))
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		if cmd.Flags().Changed("limit") && limit < 1 {
			return usageErr("--limit must be at least 1")
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		q := url.Values{}
		setIf(q, "resourceType", resourceType)
		setIf(q, "resourceId", resourceID)
		setIf(q, "actor", actor)
		setIf(q, "tenantId", tenant)
		setIf(q, "since", since)
		setIf(q, "cursor", cursor)
		if limit > 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		body, page, err := a.auditPages(cmd.Context(), c, q, all)
		if err != nil {
			return err
		}
		wide := a.output == "wide"
		if err := a.emit(body, func(w io.Writer) {
			head := []string{"TIME", "ACTION", "TYPE", "RESOURCE", "NAME", "ACTOR", "CHANGES"}
			if wide {
				head = append(head, "TENANT", "REVISION")
			}
			row(w, head...)
			for _, r := range page.Items {
				cells := []string{r.OccurredAt.Format(time.RFC3339), r.Action, r.ResourceType, r.ResourceID, r.ResourceName, actorCell(r.Actor), changesCell(r.Changes, wide)}
				if wide {
					cells = append(cells, r.TenantID, strconv.FormatUint(r.Revision, 10))
				}
				row(w, cells...)
			}
		}); err != nil {
			return err
		}
		if page.NextCursor != "" && (a.output == "table" || wide) {
			fmt.Fprintf(a.stderr, "more records: add --cursor %s, or --all\n", page.NextCursor)
		}
		return nil
	})
	return cmd
}

// auditPages gets one page, or with all every page merged into one.
func (a *app) auditPages(ctx context.Context, c *client, q url.Values, all bool) ([]byte, contracts.AuditPage, error) {
	var page contracts.AuditPage
	resp, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/audit", query: q}, &page)
	if err != nil {
		return nil, page, err
	}
	if !all || page.NextCursor == "" {
		return resp.body, page, nil
	}
	progress := a.progress()
	defer progress("")
	for n := 2; page.NextCursor != ""; n++ {
		if page.NextCursor == q.Get("cursor") {
			return nil, page, fmt.Errorf("the server's nextCursor does not move; stopping")
		}
		progress("listing audit records: page %d, %d so far", n, len(page.Items))
		q.Set("cursor", page.NextCursor)
		var next contracts.AuditPage
		if _, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/audit", query: q}, &next); err != nil {
			return nil, page, err
		}
		page.Items = append(page.Items, next.Items...)
		page.NextCursor = next.NextCursor
	}
	body, err := json.Marshal(page)
	return body, page, err
}

// actorCell is kind:name (and the issuer of an OIDC subject).
func actorCell(a *contracts.Actor) string {
	if a == nil {
		return "-"
	}
	s := a.Kind + ":" + a.Name
	if a.Issuer != "" {
		s += " (" + a.Issuer + ")"
	}
	return s
}

// changesCell lists the changed fields; wide adds old→new values.
func changesCell(changes []contracts.FieldChange, wide bool) string {
	parts := make([]string, 0, len(changes))
	for _, c := range changes {
		switch {
		case !wide:
			parts = append(parts, c.Field)
		case c.ValuesOmitted != "":
			parts = append(parts, c.Field+" ("+c.ValuesOmitted+")")
		default:
			parts = append(parts, c.Field+"="+changeValue(c.Old)+"→"+changeValue(c.New))
		}
	}
	return truncateCell(strings.Join(parts, ","), 300)
}

func changeValue(v any) string {
	if v == nil {
		return "∅"
	}
	return compactValue(v)
}
