package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-ops/inthub/shared/contracts"
)

// newMetricsCmd is `stella metrics`: queries of metrics integrations.
func (a *app) newMetricsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "metrics",
		Short:   "Query metrics integrations",
		Example: "  stella metrics query 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 'sum(rate(http_requests_total[5m]))'",
		Args:    a.noArgs,
		RunE:    a.helpOrUnknown,
	}
	cmd.AddCommand(a.newMetricsQueryCmd())
	return cmd
}

func (a *app) newMetricsQueryCmd() *cobra.Command {
	var at, since string
	var step time.Duration
	cmd := &cobra.Command{
		Use:   "query <integration-id> <query>",
		Short: "Run one query in the provider's language and show its series",
		Long: `Run an instant query (now, or --time) or, with --since and --step, a range
query up to now, in the provider's own language (PromQL for Prometheus), and
show each series: its labels, unit and points. No data is an empty answer,
not an error; a query the provider refuses exits 2 (INVALID_METRICS_QUERY).`,
		Example: `  stella metrics query 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 'up{job="api"}'
  stella metrics query 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 'sum(rate(http_requests_total[1m]))' --since 1h --step 1m -o json`,
		Args:              exactArgs("the integration id", "the query"),
		ValidArgsFunction: a.completeIntegrationIDs,
	}
	fs := cmd.Flags()
	fs.StringVar(&at, "time", "", "evaluation time of an instant query (RFC 3339; default now)")
	fs.StringVar(&since, "since", "", "make it a range query over this long up to now, e.g. 30m or 2h")
	fs.DurationVar(&step, "step", 0, "the range query's resolution, e.g. 1m (with --since)")
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		q := contracts.MetricsQuery{Query: args[1]}
		switch {
		case since != "":
			d, err := time.ParseDuration(since)
			if err != nil || d <= 0 || step <= 0 || at != "" {
				return usageErr("--since needs a positive duration and --step a positive one; --time is for instant queries")
			}
			end := time.Now().UTC()
			start := end.Add(-d)
			q.Start, q.End, q.StepSeconds = &start, &end, step.Seconds()
		case step != 0:
			return usageErr("--step belongs to a range query: add --since")
		case at != "":
			t, err := time.Parse(time.RFC3339, at)
			if err != nil {
				return usageErr("--time must be an RFC 3339 time such as 2026-03-02T10:15:00Z")
			}
			q.Time = &t
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		var res contracts.MetricsResult
		resp, err := c.doJSON(cmd.Context(), request{method: http.MethodPost, path: integrationPath(args[0]) + "/query", body: q}, &res)
		if err != nil {
			return err
		}
		return a.emit(resp.body, func(w io.Writer) {
			row(w, "LABELS", "UNIT", "TIME", "VALUE")
			for _, s := range res.Series {
				for _, p := range s.Points {
					row(w, labelsCell(s.Labels), s.Unit, p.Time.Format(time.RFC3339), valueCell(p.Value))
				}
			}
		})
	})
	return cmd
}

// valueCell is a point's value, or NaN for one without a finite value.
func valueCell(v *float64) string {
	if v == nil {
		return "NaN"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// newAnalysisCmd is `stella analysis`: canary analysis runs.
func (a *app) newAnalysisCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "analysis",
		Short:   "Run canary analyses over metrics integrations",
		Example: "  stella analysis run -f analysis.json --wait",
		Args:    a.noArgs,
		RunE:    a.helpOrUnknown,
	}
	cmd.AddCommand(a.newAnalysisRunCmd(), a.newAnalysisGetCmd(), a.newAnalysisCancelCmd())
	return cmd
}

// waitFlag is --wait and how often it looks.
type waitFlag struct {
	wait     bool
	interval time.Duration
}

func (w *waitFlag) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.wait, "wait", false, "wait until the run completes; exit 1 unless its verdict is successful")
	cmd.Flags().DurationVar(&w.interval, "poll", 2*time.Second, "how often --wait asks")
}

func (a *app) newAnalysisRunCmd() *cobra.Command {
	var file string
	var w waitFlag
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Start an analysis run",
		Long: `Start an analysis run from a JSON file (or - for stdin) holding
{"metrics": [...]}, each metric with name, integrationId, query,
successCondition and/or failureCondition (expressions over result, the latest
value of each series), interval, count, failureLimit, inconclusiveLimit. A bad
query or condition is refused at once (exit 2). With --wait it follows the run
to its verdict and exits 1 unless it is successful.`,
		Example: `  stella analysis run -f analysis.json
  stella analysis run -f analysis.json --wait -o json`,
		Args: a.noArgs,
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the run's JSON (- for stdin)")
	_ = cmd.MarkFlagRequired("file")
	w.add(cmd)
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		var raw []byte
		var err error
		if file == "-" {
			raw, err = io.ReadAll(os.Stdin)
		} else {
			raw, err = os.ReadFile(file)
		}
		if err != nil {
			return usageErr("read %s: %v", file, err)
		}
		if !json.Valid(raw) {
			return usageErr("%s is not JSON", file)
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		var run contracts.AnalysisRun
		resp, err := c.doJSON(cmd.Context(), request{method: http.MethodPost, path: "/api/v1/analysis-runs", body: json.RawMessage(raw)}, &run)
		if err != nil {
			return err
		}
		return a.finishRun(cmd.Context(), c, resp.body, run, w)
	})
	return cmd
}

func (a *app) newAnalysisGetCmd() *cobra.Command {
	var w waitFlag
	cmd := &cobra.Command{
		Use:     "get <run-id>",
		Short:   "Show an analysis run",
		Example: "  stella analysis get 0193a0b4-0000-7000-8000-0000000000aa --wait",
		Args:    exactArgs("the run id"),
	}
	w.add(cmd)
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, run, err := getRun(cmd.Context(), c, args[0])
		if err != nil {
			return err
		}
		return a.finishRun(cmd.Context(), c, resp.body, run, w)
	})
	return cmd
}

func (a *app) newAnalysisCancelCmd() *cobra.Command {
	var w waitFlag
	cmd := &cobra.Command{
		Use:     "cancel <run-id>",
		Short:   "Cancel an analysis run (it completes as inconclusive)",
		Example: "  stella analysis cancel 0193a0b4-0000-7000-8000-0000000000aa --wait",
		Args:    exactArgs("the run id"),
	}
	w.add(cmd)
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		var run contracts.AnalysisRun
		resp, err := c.doJSON(cmd.Context(), request{method: http.MethodPost, path: analysisRunPath(args[0]) + "/cancel"}, &run)
		if err != nil {
			return err
		}
		if w.wait {
			return a.finishRun(cmd.Context(), c, resp.body, run, w)
		}
		return a.emitAnalysisRun(resp.body, run)
	})
	return cmd
}

func analysisRunPath(id string) string { return "/api/v1/analysis-runs/" + url.PathEscape(id) }

func getRun(ctx context.Context, c *client, id string) (*response, contracts.AnalysisRun, error) {
	var run contracts.AnalysisRun
	resp, err := c.doJSON(ctx, request{method: http.MethodGet, path: analysisRunPath(id)}, &run)
	return resp, run, err
}

// finishRun prints a run; with --wait it first follows it to its verdict
// and fails unless the verdict is successful.
func (a *app) finishRun(ctx context.Context, c *client, body []byte, run contracts.AnalysisRun, w waitFlag) error {
	if !w.wait {
		return a.emitAnalysisRun(body, run)
	}
	progress := a.progress()
	for run.Status != "completed" {
		progress("analysis %s: %d measurements", run.RunID, len(run.Measurements))
		select {
		case <-ctx.Done():
			progress("")
			return ctx.Err()
		case <-time.After(max(w.interval, 100*time.Millisecond)):
		}
		resp, next, err := getRun(ctx, c, run.RunID)
		if err != nil {
			progress("")
			return err
		}
		body, run = resp.body, next
	}
	progress("")
	if err := a.emitAnalysisRun(body, run); err != nil {
		return err
	}
	if run.Verdict != contracts.AnalysisSuccessful {
		return &exitError{code: ExitError, err: fmt.Errorf("analysis %s: %s (%s)", run.RunID, run.Verdict, run.Message)}
	}
	return nil
}

// emitAnalysisRun prints an analysis run: one line per metric under the run's status.
func (a *app) emitAnalysisRun(body []byte, run contracts.AnalysisRun) error {
	return a.emit(body, func(w io.Writer) {
		fmt.Fprintf(w, "run %s: %s %s %s\n", run.RunID, run.Status, run.Verdict, run.Message)
		row(w, "METRIC", "PHASE", "MEASUREMENTS", "SUCCESSFUL", "FAILED", "INCONCLUSIVE", "ERRORS")
		for _, m := range run.Results {
			row(w, m.Name, m.Phase, strconv.Itoa(m.Measurements), strconv.Itoa(m.Successful), strconv.Itoa(m.Failed),
				strconv.Itoa(m.Inconclusive), strconv.Itoa(m.Errors))
		}
	})
}
