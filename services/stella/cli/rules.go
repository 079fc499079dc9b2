package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-ops/inthub/shared/contracts"
)

// The notification-rule commands: /api/v1/notification-rules, with the
// integration commands' output formats and exit codes.

func rulePath(id string) string { return "/api/v1/notification-rules/" + url.PathEscape(id) }

func (a *app) newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "notification-rules",
		Aliases: []string{"rules"},
		Short:   "Manage notification rules (which events go to which notification integrations)",
		Long: `Notification rules route integration.health.changed and notification.send.requested
to notification integrations of the same tenant (Slack, Teams, email, webhooks,
PagerDuty, OpsGenie), with optional templates. The notifier checks a rule when it
is saved: a bad target, channel or template is refused (exit 2).`,
		Example: "  stella notification-rules list\n  stella rules create -f rule.json",
		Args:    a.noArgs,
		RunE:    a.helpOrUnknown,
	}
	cmd.AddCommand(a.newRulesListCmd(), a.newRulesGetCmd(), a.newRulesCreateCmd(), a.newRulesReplaceCmd(), a.newRulesDeleteCmd())
	return cmd
}

// ruleTable prints rules, one a row.
func ruleTable(w io.Writer, rules []contracts.NotificationRule, wide bool) {
	head := []string{"ID", "NAME", "EVENTS", "TARGETS", "ENABLED"}
	if wide {
		head = append(head, "SEVERITIES", "LABEL SELECTOR", "UPDATED")
	}
	row(w, head...)
	for _, r := range rules {
		targets := make([]string, 0, len(r.Targets))
		for _, t := range r.Targets {
			s := t.IntegrationID
			if t.Channel != "" {
				s += "/" + t.Channel
			}
			targets = append(targets, s)
		}
		cells := []string{r.ID, r.Name, strings.Join(r.Match.EventTypes, ","), strings.Join(targets, ","), strconv.FormatBool(!r.Disabled)}
		if wide {
			cells = append(cells, strings.Join(r.Match.Severities, ","), r.Match.LabelSelector, r.UpdatedAt.Format(time.RFC3339))
		}
		row(w, cells...)
	}
}

func (a *app) newRulesListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the tenant's notification rules, by name",
		Example: "  stella notification-rules list\n  stella rules list -o wide",
		Args:    a.noArgs,
	}
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		var list contracts.NotificationRuleList
		resp, err := c.doJSON(cmd.Context(), request{method: http.MethodGet, path: "/api/v1/notification-rules"}, &list)
		if err != nil {
			return err
		}
		return a.emit(resp.body, func(w io.Writer) { ruleTable(w, list.Items, a.output == "wide") })
	})
	return cmd
}

func (a *app) newRulesGetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "get <rule-id>",
		Short:   "Show a notification rule",
		Example: "  stella notification-rules get 5d1e8a40-0000-4000-8000-000000000001 -o yaml",
		Args:    exactArgs("the rule id"),
	}
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		var rule contracts.NotificationRule
		resp, err := c.doJSON(cmd.Context(), request{method: http.MethodGet, path: rulePath(args[0])}, &rule)
		if err != nil {
			return err
		}
		return a.emit(resp.body, func(w io.Writer) { ruleTable(w, []contracts.NotificationRule{rule}, true) })
	})
	return cmd
}

// readJSONFile reads a JSON document from a file or, for "-", stdin.
func (a *app) readJSONFile(file string) (json.RawMessage, error) {
	var raw []byte
	var err error
	if file == "-" {
		if a.stdin == nil {
			return nil, usageErr("no standard input to read the rule from")
		}
		raw, err = io.ReadAll(a.stdin)
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, usageErr("read %s: %v", file, err)
	}
	if !json.Valid(raw) {
		return nil, usageErr("%s is not JSON", file)
	}
	return raw, nil
}

const ruleFileHelp = `The file (or - for stdin) holds the rule as the API takes it:
  {"name": "...", "description": "...", "disabled": false,
   "match": {"eventTypes": ["integration.health.changed"], "severities": [...], "labelSelector": "environment=production"},
   "targets": [{"integrationId": "<notification integration>", "channel": "#releases"}],
   "template": {"title": "...", "body": "..."}}`

func (a *app) newRulesCreateCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a notification rule from a JSON file",
		Long:    "Create a notification rule. " + ruleFileHelp,
		Example: "  stella notification-rules create -f rule.json -o yaml",
		Args:    a.noArgs,
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the rule's JSON (- for stdin)")
	_ = cmd.MarkFlagRequired("file")
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		raw, err := a.readJSONFile(file)
		if err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		var rule contracts.NotificationRule
		resp, err := c.doJSON(cmd.Context(), request{method: http.MethodPost, path: "/api/v1/notification-rules", body: raw}, &rule)
		if err != nil {
			return err
		}
		return a.emit(resp.body, func(w io.Writer) { ruleTable(w, []contracts.NotificationRule{rule}, false) })
	})
	return cmd
}

func (a *app) newRulesReplaceCmd() *cobra.Command {
	var file, ifMatch string
	cmd := &cobra.Command{
		Use:   "replace <rule-id>",
		Short: "Replace a notification rule with a JSON file",
		Long: "Replace a notification rule, only if nobody changed it since it was read (the\n" +
			"revision read just before, or --if-match). " + ruleFileHelp,
		Example: "  stella notification-rules replace 5d1e8a40-0000-4000-8000-000000000001 -f rule.json --if-match 7",
		Args:    exactArgs("the rule id"),
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the rule's JSON (- for stdin)")
	cmd.Flags().StringVar(&ifMatch, "if-match", "", "replace only at this revision (an ETag such as \"7\"); default: the revision read just before")
	_ = cmd.MarkFlagRequired("file")
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		raw, err := a.readJSONFile(file)
		if err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		etag := normalizeETag(ifMatch)
		if etag == "" {
			var cur contracts.NotificationRule
			if _, err := c.doJSON(cmd.Context(), request{method: http.MethodGet, path: rulePath(args[0])}, &cur); err != nil {
				return err
			}
			etag = fmt.Sprintf("%q", strconv.FormatUint(cur.Revision, 10))
		}
		var rule contracts.NotificationRule
		resp, err := c.doJSON(cmd.Context(), request{method: http.MethodPut, path: rulePath(args[0]), body: raw, ifMatch: etag}, &rule)
		if err != nil {
			return err
		}
		return a.emit(resp.body, func(w io.Writer) { ruleTable(w, []contracts.NotificationRule{rule}, false) })
	})
	return cmd
}

func (a *app) newRulesDeleteCmd() *cobra.Command {
	var ifMatch string
	cmd := &cobra.Command{
		Use:     "delete <rule-id>",
		Short:   "Delete a notification rule",
		Long:    "Delete a notification rule; with --if-match only if it is still at that revision.",
		Example: "  stella notification-rules delete 5d1e8a40-0000-4000-8000-000000000001",
		Args:    exactArgs("the rule id"),
	}
	cmd.Flags().StringVar(&ifMatch, "if-match", "", "delete only at this revision (an ETag such as \"7\")")
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		if _, err := c.do(cmd.Context(), request{method: http.MethodDelete, path: rulePath(args[0]), ifMatch: normalizeETag(ifMatch)}); err != nil {
			return err
		}
		return a.emitValue(map[string]any{"id": args[0], "deleted": true}, func(w io.Writer) {
			fmt.Fprintf(w, "notification rule %s deleted\n", args[0])
		})
	})
	return cmd
}
