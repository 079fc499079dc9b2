package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-ops/inthub/shared/bus/ops"
)

// The dead-letter answers of /api/v1/operator/dlq are shared/bus/ops's
// types, the very ones the ingress encodes.

func dlqPath(seq uint64) string { return "/api/v1/operator/dlq/" + strconv.FormatUint(seq, 10) }

// DeadLetters lists one page of dead letters.
func (c *client) DeadLetters(ctx context.Context, q url.Values) (*response, ops.DLQPage, error) {
	var out ops.DLQPage
	resp, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/operator/dlq", query: q}, &out)
	return resp, out, err
}

// DeadLetter reads one dead letter with its headers and body.
func (c *client) DeadLetter(ctx context.Context, seq uint64) (*response, ops.DeadLetterDetail, error) {
	var out ops.DeadLetterDetail
	resp, err := c.doJSON(ctx, request{method: http.MethodGet, path: dlqPath(seq)}, &out)
	return resp, out, err
}

// Redrive puts a dead letter back on its original subject.
func (c *client) Redrive(ctx context.Context, seq uint64) (*response, ops.Redriven, error) {
	var out ops.Redriven
	resp, err := c.doJSON(ctx, request{method: http.MethodPost, path: dlqPath(seq) + "/redrive"}, &out)
	return resp, out, err
}

// DeleteDeadLetter removes one dead letter.
func (c *client) DeleteDeadLetter(ctx context.Context, seq uint64) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: dlqPath(seq)})
	return err
}

// PurgeDeadLetters removes the dead letters of a selection, or with
// DryRun counts them.
func (c *client) PurgeDeadLetters(ctx context.Context, sel ops.PurgeQuery) (*response, ops.PurgeResult, error) {
	var out ops.PurgeResult
	r := request{method: http.MethodPost, path: "/api/v1/operator/dlq/purge", body: sel}
	resp, err := c.doJSON(ctx, r, &out)
	return resp, out, err
}

// seqArg parses a dead letter's sequence argument.
func seqArg(v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return 0, usageErr("the dead letter's sequence must be a whole number from 1, not %q", v)
	}
	return n, nil
}

func (a *app) newDLQCmd() *cobra.Command {
	g := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect, redrive and purge dead letters (operators)",
		Long: `Manage INTHUB_DLQ, where the hub keeps each message a handler could not process
(a body that does not decode, or the last delivery failed), with the reason,
the handler, the delivery count and the original subject and headers.

redrive puts a dead letter back on its original subject, with its original
headers, and removes it from the DLQ; handlers that are idempotent on the
message's ce-id stay so. These commands need a token with the operator role:
any other token gets exit code 4.`,
		Example: `  stella dlq list
  stella dlq show 42
  stella dlq redrive 42
  stella dlq purge --subject integration.test.requested --yes`,
		Args: a.noArgs,
		RunE: a.helpOrUnknown,
	}
	g.AddCommand(a.newDLQListCmd(), a.newDLQShowCmd(), a.newDLQRedriveCmd(), a.newDLQPurgeCmd())
	return g
}

func (a *app) newDLQListCmd() *cobra.Command {
	var subject, tenant string
	var after uint64
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, oldest first",
		Long: `List dead letters, oldest first, one page at a time (--limit, --after), or every
page with --all. --subject filters on the original subject, like the events
commands' --subject.`,
		Example: `  stella dlq list
  stella dlq list --subject integration.test.requested --all -o json
  stella dlq list --tenant 0193a0b4-0000-7000-8000-000000000001 --limit 20 --after 120`,
		Args: a.noArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&subject, "subject", "", "only dead letters of this original subject filter")
	fs.StringVar(&tenant, "tenant", "", "only dead letters of this tenant id")
	fs.IntVar(&limit, "limit", 0, "page size (server default 100, at most 1000)")
	fs.Uint64Var(&after, "after", 0, "list from the first dead letter after this sequence (a previous nextAfter)")
	fs.BoolVar(&all, "all", false, "follow nextAfter and list every page")
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		if cmd.Flags().Changed("limit") && limit < 1 {
			return usageErr("--limit must be at least 1")
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		q := url.Values{}
		setIf(q, "subject", subject)
		setIf(q, "tenantId", tenant)
		if limit > 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		if after > 0 {
			q.Set("after", strconv.FormatUint(after, 10))
		}
		body, page, err := a.dlqPages(cmd.Context(), c, q, all)
		if err != nil {
			return err
		}
		if err := a.emit(body, func(w io.Writer) {
			row(w, "SEQ", "DEAD-LETTERED", "ORIGINAL SUBJECT", "HANDLER", "DELIVERIES", "REASON")
			for _, d := range page.Items {
				row(w, strconv.FormatUint(d.Sequence, 10), d.Time.Format(time.RFC3339), d.OriginalSubject, d.Handler, strconv.Itoa(d.Deliveries), truncateCell(d.Reason, 120))
			}
		}); err != nil {
			return err
		}
		if page.NextAfter != 0 && a.output == "table" {
			fmt.Fprintf(a.stderr, "more dead letters: add --after %d, or --all\n", page.NextAfter)
		}
		return nil
	})
	return cmd
}

// dlqPages gets one page, or with all every page merged into one.
func (a *app) dlqPages(ctx context.Context, c *client, q url.Values, all bool) ([]byte, ops.DLQPage, error) {
	resp, page, err := c.DeadLetters(ctx, q)
	if err != nil {
		return nil, page, err
	}
	if !all || page.NextAfter == 0 {
		return resp.body, page, nil
	}
	progress := a.progress()
	defer progress("")
	for n := 2; page.NextAfter != 0; n++ {
		if prev, _ := strconv.ParseUint(q.Get("after"), 10, 64); page.NextAfter <= prev {
			return nil, page, fmt.Errorf("the server's nextAfter %d does not move past %d; stopping", page.NextAfter, prev)
		}
		progress("listing dead letters: page %d, %d so far", n, len(page.Items))
		q.Set("after", strconv.FormatUint(page.NextAfter, 10))
		_, next, err := c.DeadLetters(ctx, q)
		if err != nil {
			return nil, page, err
		}
		page.Items = append(page.Items, next.Items...)
		page.NextAfter = next.NextAfter
	}
	body, err := json.Marshal(page)
	return body, page, err
}

func (a *app) newDLQShowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "show <seq>",
		Short:   "Show one dead letter with its headers and body",
		Example: "  stella dlq show 42\n  stella dlq show 42 -o json",
		Args:    exactArgs("the dead letter's sequence"),
	}
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		seq, err := seqArg(args[0])
		if err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, d, err := c.DeadLetter(cmd.Context(), seq)
		if err != nil {
			return err
		}
		return a.emit(resp.body, func(w io.Writer) {
			row(w, "Sequence:", strconv.FormatUint(d.Sequence, 10))
			row(w, "Original subject:", d.OriginalSubject)
			row(w, "Original stream:", d.OriginalStream)
			row(w, "Handler:", d.Handler)
			row(w, "Deliveries:", strconv.Itoa(d.Deliveries))
			row(w, "Dead-lettered:", d.Time.Format(time.RFC3339Nano))
			row(w, "Reason:", d.Reason)
			keys := make([]string, 0, len(d.Headers))
			for k := range d.Headers {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			fmt.Fprintln(w, "Headers:\t")
			for _, k := range keys {
				row(w, "  "+k, d.Headers[k])
			}
			switch {
			case len(d.Data) > 0:
				var buf bytes.Buffer
				if json.Indent(&buf, d.Data, "", "  ") != nil {
					buf.Reset()
					buf.Write(d.Data)
				}
				fmt.Fprintf(w, "Body (JSON):\n%s\n", buf.String())
			case d.DataText != "":
				fmt.Fprintf(w, "Body (not JSON):\n%s\n", d.DataText)
			case d.DataBase64 != "":
				fmt.Fprintf(w, "Body (binary, base64):\n%s\n", d.DataBase64)
			default:
				row(w, "Body:", "(empty)")
			}
		})
	})
	return cmd
}

func (a *app) newDLQRedriveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "redrive <seq>",
		Short: "Put a dead letter back on its original subject",
		Long: `Publish a dead letter again on its original subject with its original headers
(without the inthub-dlq-* ones), and remove it from the DLQ. It gets a new
Nats-Msg-Id (redrive:<seq>:<original id>), so the stream's dedupe window does
not drop it as the original; its ce-id is kept. A dead letter is redriven once:
a second redrive of the same sequence exits 3.`,
		Example: "  stella dlq redrive 42\n  stella dlq redrive 42 -o json",
		Args:    exactArgs("the dead letter's sequence"),
	}
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		seq, err := seqArg(args[0])
		if err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, out, err := c.Redrive(cmd.Context(), seq)
		if err != nil {
			return err
		}
		return a.emit(resp.body, func(w io.Writer) {
			fmt.Fprintf(w, "redrove dead letter %d to %s (%s sequence %d)\n", out.Sequence, out.Subject, out.Stream, out.StreamSequence)
		})
	})
	return cmd
}

func (a *app) newDLQPurgeCmd() *cobra.Command {
	var subject, tenant string
	var all, yes bool
	cmd := &cobra.Command{
		Use:   "purge [<seq>]",
		Short: "Delete dead letters for good",
		Long: `Delete one dead letter (by its sequence), the dead letters of a subject filter
and/or tenant, or, with --all, every dead letter. Nothing can bring them back:
on a terminal stella asks "Purge N dead letters? [y/N]" first; elsewhere (a
script, a pipe) --yes is required.`,
		Example: `  stella dlq purge 42
  stella dlq purge --subject integration.test.requested --yes
  stella dlq purge --all --yes    # every dead letter`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr("%s takes at most one dead letter's sequence, got %d arguments", cmd.CommandPath(), len(args))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&subject, "subject", "", "only dead letters of this original subject filter")
	cmd.Flags().StringVar(&tenant, "tenant", "", "only dead letters of this tenant id")
	cmd.Flags().BoolVar(&all, "all", false, "every dead letter (alone: not with a sequence or a filter)")
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm without asking: the dead letters are deleted for good")
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		filtered := subject != "" || tenant != ""
		switch {
		case len(args) == 1 && (filtered || all):
			return usageErr("give a sequence, --subject/--tenant or --all, not several")
		case all && filtered:
			return usageErr("--all purges every dead letter: it cannot be combined with --subject or --tenant")
		case len(args) == 0 && !filtered && !all:
			return usageErr("say what to purge: a sequence, --subject and/or --tenant, or --all for every dead letter")
		case !yes && !a.stdinTerminal:
			return usageErr("purge deletes dead letters for good and stdin is not a terminal to ask: add --yes to confirm")
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		var seq uint64
		if len(args) == 1 {
			if seq, err = seqArg(args[0]); err != nil {
				return err
			}
		}
		sel := ops.PurgeQuery{Subject: subject, TenantID: tenant, All: all}
		if !yes {
			n := uint64(1)
			if seq == 0 {
				dry := sel
				dry.DryRun = true
				if _, res, err := c.PurgeDeadLetters(cmd.Context(), dry); err != nil {
					return err
				} else if n = res.Matching; n == 0 {
					return a.emitValue(ops.PurgeResult{}, func(w io.Writer) { fmt.Fprintln(w, "no dead letters match: nothing to purge") })
				}
			}
			if ok, err := a.confirm(fmt.Sprintf("Purge %d dead letter%s?", n, plural(n))); err != nil || !ok {
				return err
			}
		}
		if seq != 0 {
			if err := c.DeleteDeadLetter(cmd.Context(), seq); err != nil {
				return err
			}
			return a.emitValue(ops.PurgeResult{Purged: 1, Matching: 1}, func(w io.Writer) {
				fmt.Fprintf(w, "deleted dead letter %d\n", seq)
			})
		}
		resp, res, err := c.PurgeDeadLetters(cmd.Context(), sel)
		if err != nil {
			return err
		}
		return a.emit(resp.body, func(w io.Writer) {
			fmt.Fprintf(w, "purged %d dead letters\n", res.Purged)
		})
	})
	return cmd
}

func plural(n uint64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// errCancelled is a confirmation answered no: nothing was done.
var errCancelled = &exitError{code: ExitError, err: errors.New("cancelled: nothing was deleted")}

// confirm asks question on stderr and reads the answer from stdin: only y
// or yes (any case) is a yes; anything else, or no answer, cancels.
func (a *app) confirm(question string) (bool, error) {
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(a.stderr)
		return false, errCancelled
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, errCancelled
}
