package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-ops/inthub/shared/contracts"
)

// runNotFound is the API's code for a run it does not (yet) hold.
const runNotFound = "PIPELINE_RUN_NOT_FOUND"

// runAccepted is the 202 answer of POST /integrations/{id}/runs.
type runAccepted struct {
	RunID     string `json:"runId"`
	RequestID string `json:"requestId"`
}

// TriggerRun asks the hub to trigger a pipeline of an integration.
func (c *client) TriggerRun(ctx context.Context, id string, in triggerInput, key string) (*response, runAccepted, error) {
	var out runAccepted
	resp, err := c.doJSON(ctx, request{method: http.MethodPost, path: integrationPath(id) + "/runs", body: in, idempotencyKey: key}, &out)
	return resp, out, err
}

// Run reads one run of an integration.
func (c *client) Run(ctx context.Context, id, runID string) (*response, contracts.PipelineRun, error) {
	var out contracts.PipelineRun
	resp, err := c.doJSON(ctx, request{method: http.MethodGet, path: runPath(id, runID)}, &out)
	return resp, out, err
}

// Runs lists one page of an integration's runs, newest first.
func (c *client) Runs(ctx context.Context, id string, limit int, cursor string) (*response, contracts.PipelineRunList, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out contracts.PipelineRunList
	resp, err := c.doJSON(ctx, request{method: http.MethodGet, path: integrationPath(id) + "/runs", query: q}, &out)
	return resp, out, err
}

// CancelRun asks the hub to cancel a run; the answer is the run as it is now.
func (c *client) CancelRun(ctx context.Context, id, runID string) (*response, contracts.PipelineRun, error) {
	var out contracts.PipelineRun
	resp, err := c.doJSON(ctx, request{method: http.MethodPost, path: runPath(id, runID) + "/cancel"}, &out)
	return resp, out, err
}

func runPath(id, runID string) string { return integrationPath(id) + "/runs/" + url.PathEscape(runID) }

// triggerInput is the body of a trigger.
type triggerInput struct {
	Pipeline   string            `json:"pipeline"`
	Ref        string            `json:"ref,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

func (a *app) newPipelinesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "pipelines",
		Short:   "Trigger, follow and cancel pipeline runs of CI/CD integrations",
		Example: "  stella pipelines trigger 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 --pipeline deploy --ref main --wait",
		Args:    a.noArgs,
		RunE:    a.helpOrUnknown,
	}
	cmd.AddCommand(a.newTriggerCmd(), a.newRunGetCmd(), a.newRunListCmd(), a.newRunCancelCmd())
	return cmd
}

func (a *app) newTriggerCmd() *cobra.Command {
	var (
		in       triggerInput
		params   []string
		key      string
		wait     bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "trigger <integration-id>",
		Short: "Trigger a pipeline",
		Long: `Trigger a pipeline of a CI/CD integration and print the run's id. With
--idempotency-key a retried trigger starts no second run. With --wait stella
follows the run to its end, printing each status change on a terminal, and
exits 0 when it succeeded and 1 when it failed or was cancelled.`,
		Example: `  stella pipelines trigger 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 --pipeline deploy --ref main --param VERSION=1.2.3
  stella pipelines trigger 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 --pipeline deploy --idempotency-key release-7 --wait`,
		Args:              exactArgs("the integration id"),
		ValidArgsFunction: a.completeIntegrationIDs,
	}
	fs := cmd.Flags()
	fs.StringVar(&in.Pipeline, "pipeline", "", "the pipeline (project, workflow, job) to run")
	fs.StringVar(&in.Ref, "ref", "", "the branch, tag or commit to run it on")
	fs.StringArrayVar(&params, "param", nil, "parameter key=value (repeatable)")
	fs.StringVar(&key, "idempotency-key", "", "a retry with the same key answers the same run")
	fs.BoolVar(&wait, "wait", false, "follow the run to its end; exit 1 unless it succeeded")
	fs.DurationVar(&interval, "interval", 2*time.Second, "with --wait, how often the run is read")
	_ = cmd.MarkFlagRequired("pipeline")
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		if interval <= 0 {
			return usageErr("--interval must be positive")
		}
		p, err := parseKeyValues("--param", params)
		if err != nil {
			return err
		}
		in.Parameters = p
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, acc, err := c.TriggerRun(cmd.Context(), args[0], in, key)
		if err != nil {
			return err
		}
		if !wait {
			return a.emit(resp.body, func(w io.Writer) {
				row(w, "RUN ID", "REQUEST ID")
				row(w, acc.RunID, acc.RequestID)
			})
		}
		return a.waitRun(cmd.Context(), c, args[0], acc.RunID, interval)
	})
	return cmd
}

// waitRun reads the run until it is final, printing each status it sees on
// a terminal, then prints the run; a run that did not succeed is exit 1.
func (a *app) waitRun(ctx context.Context, c *client, id, runID string, interval time.Duration) error {
	show := a.isTerminal(a.stderr)
	if show {
		fmt.Fprintf(a.stderr, "run %s triggered\n", runID)
	}
	var last contracts.PipelineRunStatus
	for {
		resp, run, err := c.Run(ctx, id, runID)
		var api *apiError
		switch {
		case errors.As(err, &api) && api.Body.Code == runNotFound:
			// The runner has not stored the run yet (the integration's
			// own 404 is another code and ends the wait).
		case err != nil:
			return err
		default:
			if run.Status != last && show {
				fmt.Fprintf(a.stderr, "%s  %s%s\n", time.Now().Format("15:04:05"), run.Status, webURL(run))
			}
			last = run.Status
			if run.Status.Final() {
				if err := a.emitRun(resp.body, run); err != nil {
					return err
				}
				if run.Status != contracts.RunSucceeded {
					return &exitError{code: ExitError, err: fmt.Errorf("run %s %s%s", runID, run.Status, runError(run))}
				}
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted; run %s goes on (stella pipelines get %s %s)", runID, id, runID)
		case <-time.After(interval):
		}
	}
}

func webURL(r contracts.PipelineRun) string {
	if r.WebURL == "" {
		return ""
	}
	return "  " + r.WebURL
}

func runError(r contracts.PipelineRun) string {
	if r.Error == nil {
		return ""
	}
	return ": " + codeMessage(r.Error.Code, r.Error.Message)
}

func (a *app) emitRun(body []byte, r contracts.PipelineRun) error {
	return a.emit(body, func(w io.Writer) {
		row(w, "Run ID:", r.RunID)
		row(w, "Pipeline:", r.Pipeline)
		row(w, "Ref:", r.Ref)
		row(w, "Status:", string(r.Status))
		row(w, "Provider run:", r.ProviderRunID)
		row(w, "Web URL:", r.WebURL)
		row(w, "Parameters:", labelsCell(r.Parameters))
		if r.DurationMs > 0 {
			row(w, "Duration:", (time.Duration(r.DurationMs) * time.Millisecond).String())
		}
		if r.Error != nil {
			row(w, "Error:", codeMessage(r.Error.Code, r.Error.Message))
		}
	})
}

func (a *app) newRunGetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "get <integration-id> <run-id>",
		Short:             "Show a pipeline run",
		Example:           "  stella pipelines get 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 8d1f0c52-6f0e-5a4b-9c3d-2e1f0a9b8c7d -o json",
		Args:              exactArgs("the integration id", "the run id"),
		ValidArgsFunction: a.completeIntegrationIDs,
	}
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, run, err := c.Run(cmd.Context(), args[0], args[1])
		if err != nil {
			return err
		}
		return a.emitRun(resp.body, run)
	})
	return cmd
}

func (a *app) newRunListCmd() *cobra.Command {
	var (
		limit  int
		cursor string
	)
	cmd := &cobra.Command{
		Use:               "list <integration-id>",
		Short:             "List an integration's pipeline runs, newest first",
		Example:           "  stella pipelines list 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 --limit 10",
		Args:              exactArgs("the integration id"),
		ValidArgsFunction: a.completeIntegrationIDs,
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "page size (server default when absent)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue from this page cursor (a previous nextCursor)")
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		if cmd.Flags().Changed("limit") && limit < 1 {
			return usageErr("--limit must be at least 1")
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, page, err := c.Runs(cmd.Context(), args[0], limit, cursor)
		if err != nil {
			return err
		}
		if err := a.emit(resp.body, func(w io.Writer) {
			row(w, "RUN ID", "PIPELINE", "REF", "STATUS", "CREATED")
			for _, r := range page.Items {
				row(w, r.RunID, r.Pipeline, r.Ref, string(r.Status), r.CreatedAt.Format(time.RFC3339))
			}
		}); err != nil {
			return err
		}
		if page.NextCursor != "" && a.output == "table" {
			fmt.Fprintf(a.stderr, "more runs: add --cursor %s\n", page.NextCursor)
		}
		return nil
	})
	return cmd
}

func (a *app) newRunCancelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "cancel <integration-id> <run-id>",
		Short:             "Cancel a pipeline run",
		Long:              "Ask the provider to stop the run; its final status follows (stella pipelines get).",
		Example:           "  stella pipelines cancel 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 8d1f0c52-6f0e-5a4b-9c3d-2e1f0a9b8c7d",
		Args:              exactArgs("the integration id", "the run id"),
		ValidArgsFunction: a.completeIntegrationIDs,
	}
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, run, err := c.CancelRun(cmd.Context(), args[0], args[1])
		if err != nil {
			return err
		}
		return a.emitRun(resp.body, run)
	})
	return cmd
}
