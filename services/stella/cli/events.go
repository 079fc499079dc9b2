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
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/stella-ops/inthub/shared/contracts"
)

// eventsPage is GET /operator/events, items kept raw so -o json prints
// every field the server sent.
type eventsPage struct {
	Items   []json.RawMessage `json:"items"`
	NextSeq uint64            `json:"nextSeq,omitempty"`
	LastSeq uint64            `json:"lastSeq"`
}

// busEvent is the part of an operator event the table shows.
type busEvent struct {
	Sequence   uint64          `json:"sequence"`
	Subject    string          `json:"subject"`
	Time       time.Time       `json:"time"`
	Data       json.RawMessage `json:"data"`
	DataText   string          `json:"dataText"`
	DataBase64 string          `json:"dataBase64"`
}

// body is the event's payload as one line: JSON compacted, else the text.
func (e busEvent) body() string {
	switch {
	case len(e.Data) > 0:
		var buf bytes.Buffer
		if json.Compact(&buf, e.Data) == nil {
			return buf.String()
		}
		return string(e.Data)
	case e.DataText != "":
		return strings.ReplaceAll(e.DataText, "\n", `\n`)
	case e.DataBase64 != "":
		return "base64:" + e.DataBase64
	}
	return ""
}

// replayResult is POST /operator/events/replay's answer.
type replayResult struct {
	Count      int    `json:"count"`
	Duplicates int    `json:"duplicates"`
	NextSeq    uint64 `json:"nextSeq,omitempty"`
	LastSeq    uint64 `json:"lastSeq"`
}

// Events reads one page of stored events.
func (c *client) Events(ctx context.Context, q url.Values) (*response, eventsPage, error) {
	var out eventsPage
	resp, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/operator/events", query: q}, &out)
	return resp, out, err
}

// ReplayEvents republishes one page of events.
func (c *client) ReplayEvents(ctx context.Context, body map[string]any) (*response, replayResult, error) {
	var out replayResult
	resp, err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v1/operator/events/replay", body: body}, &out)
	return resp, out, err
}

// TailEvents reads the event stream (Server-Sent Events) and calls fn with
// each event's id and data until ctx ends or the stream does. lastID resumes
// after that event. --timeout bounds only the wait for the server's answer.
func (c *client) TailEvents(ctx context.Context, q url.Values, lastID string, fn func(id string, data []byte) error) error {
	u := c.base + "/api/v1/operator/events/stream"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", "stella/"+Version)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	// The stream has no end, so no client timeout; only the answer's
	// headers must come within --timeout.
	var timedOut atomic.Bool
	timer := time.AfterFunc(c.hc.Timeout, func() { timedOut.Store(true); cancel() })
	resp, err := (&http.Client{Transport: c.hc.Transport}).Do(req)
	timer.Stop()
	if err != nil {
		if timedOut.Load() {
			return &unreachableError{server: c.base, err: fmt.Errorf("no answer in time (see --timeout): %w", context.DeadlineExceeded)}
		}
		return c.classify(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return decodeError(resp, raw)
	}
	return readSSE(resp.Body, fn)
}

// readSSE parses a text/event-stream: id and data fields, dispatched at a
// blank line; comments are heartbeats. An "error" event ends the stream
// with the API error it carries.
func readSSE(r io.Reader, fn func(id string, data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var id, event string
	var data []byte
	for sc.Scan() {
		line := sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			if event == "error" {
				e := &apiError{Status: http.StatusServiceUnavailable}
				if json.Unmarshal(data, &e.Body) != nil || e.Body.Code == "" {
					e.Body = contracts.ErrorBody{Code: "STREAM_ERROR", Message: string(data)}
				}
				return e
			}
			if len(data) > 0 {
				if err := fn(id, data); err != nil {
					return err
				}
			}
			event, data = "", nil
		case field == "":
			// A comment: the server's heartbeat.
		case field == "id":
			id = value
		case field == "event":
			event = value
		case field == "data":
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, value...)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

func (a *app) newEventsCmd() *cobra.Command {
	g := &cobra.Command{
		Use:   "events",
		Short: "Follow and replay the hub's events (operators)",
		Long: `Follow the Integration Hub's events as they happen, or read and replay those it
kept (INTHUB_EVENTS holds days of them). Operators run the hub, so these
commands see every tenant; --tenant narrows them to one. They need a token
with the operator role: any other token gets exit code 4.

Subjects are <prefix>.<tenantId>.<integrationId>, for instance
integration.health.changed.<tenantId>.<integrationId>. --subject takes a known
prefix, a full subject, or either with NATS wildcards as whole tokens
(* one token, > the rest): integration.health.changed,
integration.health.changed.*.3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10.`,
		Example: `  stella events tail --subject integration.health.changed
  stella events replay --subject integration.health.changed --since 2h`,
		Args: a.noArgs,
		RunE: a.helpOrUnknown,
	}
	g.AddCommand(a.newTailCmd(), a.newReplayCmd())
	return g
}

func (a *app) newTailCmd() *cobra.Command {
	var subject, tenant string
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print new events as they are published",
		Long: `Print each new event of the hub as it is published, until Ctrl-C. With -o json
each event is one line of JSON (JSON Lines); with -o yaml one YAML document.
If the connection breaks, stella reconnects and resumes after the last event
it printed.`,
		Example: `  stella events tail
  stella events tail --subject integration.health.changed --tenant 0193a0b4-0000-7000-8000-000000000001
  stella events tail --subject 'notification.>' -o json | jq .subject`,
		Args: a.noArgs,
	}
	cmd.Flags().StringVar(&subject, "subject", "", "only events of this subject filter (a prefix, a subject, wildcards as tokens)")
	cmd.Flags().StringVar(&tenant, "tenant", "", "only events of this tenant id")
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		q := url.Values{}
		setIf(q, "subject", subject)
		setIf(q, "tenantId", tenant)
		return a.tail(cmd.Context(), c, q)
	})
	return cmd
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// tail follows the stream, reconnecting after the last printed event when
// it breaks, until ctx ends. Refusals (bad filter, wrong token) end it.
func (a *app) tail(ctx context.Context, c *client, q url.Values) error {
	lastID := ""
	failures := 0
	for {
		err := c.TailEvents(ctx, q, lastID, func(id string, data []byte) error {
			lastID, failures = id, 0
			return a.printStreamed(data)
		})
		var api *apiError
		switch {
		case ctx.Err() != nil:
			return nil // Ctrl-C: the normal end of a tail
		case errors.As(err, &api) && api.Status < 500:
			return err
		}
		failures++
		if failures > 5 {
			return err
		}
		fmt.Fprintf(a.stderr, "event stream interrupted (%v); reconnecting\n", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(failures) * time.Second):
		}
	}
}

// printStreamed prints one event of a tail: a table line, a JSON line or a
// YAML document.
func (a *app) printStreamed(data []byte) error {
	switch a.output {
	case "json":
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			return fmt.Errorf("the server's event is not JSON: %w", err)
		}
		buf.WriteByte('\n')
		_, err := a.stdout.Write(buf.Bytes())
		return err
	case "yaml":
		node, err := yamlNode(data)
		if err != nil {
			return fmt.Errorf("the server's event is not JSON: %w", err)
		}
		fmt.Fprintln(a.stdout, "---")
		enc := yaml.NewEncoder(a.stdout)
		enc.SetIndent(2)
		if err := enc.Encode(node); err != nil {
			return err
		}
		return enc.Close()
	}
	var ev busEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("the server's event is not the expected JSON: %w", err)
	}
	_, err := fmt.Fprintf(a.stdout, "%s  %d  %s  %s\n", ev.Time.Format(time.RFC3339Nano), ev.Sequence, ev.Subject, ev.body())
	return err
}

// replayFlags are replay's flags.
type replayFlags struct {
	subject, tenant, since, to, target string
	fromSeq                            uint64
}

func (a *app) newReplayCmd() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Print or republish the events kept since a time or sequence",
		Long: `Read the events the hub kept on a subject, starting at a time (--since: RFC 3339,
or a duration before now like 90s, 15m, 2h, 3d) or at a stream sequence
(--from-seq), up to --to (a sequence, or a time) or the last event, and print
them. With --republish-to inthub.replay.<name> they are published again, each
to inthub.replay.<name>.<original subject>, for a consumer to read; they are
never put back on the live subjects, where subscribers would act on them again.
Republished copies keep their headers, get a new Nats-Msg-Id, and name their
origin in inthub-replayed-from. The range is read page by page; a terminal
shows the progress on stderr.`,
		Example: `  stella events replay --subject integration.health.changed --since 2h
  stella events replay --subject 'integration.>' --tenant 0193a0b4-0000-7000-8000-000000000001 --since 2025-01-31T09:00:00Z --to 2025-01-31T10:00:00Z -o json
  stella events replay --subject integration.health.changed --from-seq 1200 --to 1300 --republish-to inthub.replay.incident-42`,
		Args: a.noArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&f.subject, "subject", "", "the subject filter (a prefix, a subject, wildcards as tokens)")
	fs.StringVar(&f.tenant, "tenant", "", "only events of this tenant id")
	fs.StringVar(&f.since, "since", "", "start at this time: RFC 3339, or a duration before now (15m, 2h, 3d)")
	fs.Uint64Var(&f.fromSeq, "from-seq", 0, "start at this stream sequence")
	fs.StringVar(&f.to, "to", "", "end at this stream sequence or time (inclusive); default the last event")
	fs.StringVar(&f.target, "republish-to", "", "republish to this subject (inthub.replay.<name>) instead of printing")
	_ = cmd.MarkFlagRequired("subject")
	cmd.MarkFlagsMutuallyExclusive("since", "from-seq")
	cmd.MarkFlagsOneRequired("since", "from-seq")
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		if cmd.Flags().Changed("from-seq") && f.fromSeq == 0 {
			return usageErr("--from-seq must be at least 1")
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		if f.target != "" {
			return a.republish(cmd.Context(), c, f)
		}
		body, items, err := a.replayPages(cmd.Context(), c, f)
		if err != nil {
			return err
		}
		return a.emit(body, func(w io.Writer) {
			row(w, "SEQ", "TIME", "SUBJECT", "DATA")
			for _, ev := range items {
				row(w, strconv.FormatUint(ev.Sequence, 10), ev.Time.Format(time.RFC3339Nano), ev.Subject, truncateCell(ev.body(), 200))
			}
		})
	})
	return cmd
}

func truncateCell(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// rangeQuery is the first page's selection: --to is a sequence when it is a
// whole number, else a time.
func (f replayFlags) rangeQuery() map[string]any {
	q := map[string]any{"subject": f.subject}
	if f.tenant != "" {
		q["tenantId"] = f.tenant
	}
	if f.since != "" {
		q["since"] = f.since
	}
	if f.fromSeq > 0 {
		q["fromSeq"] = f.fromSeq
	}
	if n, err := strconv.ParseUint(f.to, 10, 64); err == nil {
		q["toSeq"] = n
	} else if f.to != "" {
		q["until"] = f.to
	}
	return q
}

// nextPage moves q on to the page at next, with its end pinned at the
// stream's last sequence when the range began, so events published while
// it is read do not make it grow.
func nextPage(q map[string]any, next, pinned uint64) error {
	if from, _ := q["fromSeq"].(uint64); next <= from {
		return fmt.Errorf("the server's nextSeq %d does not move past %d; stopping", next, from)
	}
	delete(q, "since")
	q["fromSeq"] = next
	if to, ok := q["toSeq"].(uint64); !ok || to > pinned {
		q["toSeq"] = pinned
	}
	return nil
}

// replayPages reads every page of the range and returns them as one page.
func (a *app) replayPages(ctx context.Context, c *client, f replayFlags) ([]byte, []busEvent, error) {
	progress := a.progress()
	defer progress("")
	q := f.rangeQuery()
	all := eventsPage{Items: []json.RawMessage{}}
	var pinned uint64
	for n := 1; ; n++ {
		values := url.Values{}
		for k, v := range q {
			values.Set(k, fmt.Sprint(v))
		}
		_, page, err := c.Events(ctx, values)
		if err != nil {
			return nil, nil, err
		}
		all.Items = append(all.Items, page.Items...)
		if n == 1 {
			pinned, all.LastSeq = page.LastSeq, page.LastSeq
		}
		if page.NextSeq == 0 {
			break
		}
		progress("reading events: page %d, %d so far (up to sequence %d)", n+1, len(all.Items), pinned)
		if err := nextPage(q, page.NextSeq, pinned); err != nil {
			return nil, nil, err
		}
	}
	items := make([]busEvent, len(all.Items))
	for i, raw := range all.Items {
		if err := json.Unmarshal(raw, &items[i]); err != nil {
			return nil, nil, fmt.Errorf("the server's event is not the expected JSON: %w", err)
		}
	}
	body, err := json.Marshal(all)
	return body, items, err
}

// republish replays the range page by page to f.target.
func (a *app) republish(ctx context.Context, c *client, f replayFlags) error {
	progress := a.progress()
	defer progress("")
	q := f.rangeQuery()
	q["target"] = f.target
	total := struct {
		Target     string `json:"target"`
		Count      int    `json:"count"`
		Duplicates int    `json:"duplicates"`
	}{Target: f.target}
	var pinned uint64
	for n := 1; ; n++ {
		_, res, err := c.ReplayEvents(ctx, q)
		if err != nil {
			if total.Count > 0 {
				fmt.Fprintf(a.stderr, "%d events were republished to %s before the failure\n", total.Count, f.target)
			}
			return err
		}
		total.Count += res.Count
		total.Duplicates += res.Duplicates
		if n == 1 {
			pinned = res.LastSeq
		}
		if res.NextSeq == 0 {
			break
		}
		progress("republishing to %s: %d events so far (up to sequence %d)", f.target, total.Count, pinned)
		if err := nextPage(q, res.NextSeq, pinned); err != nil {
			return err
		}
	}
	progress("")
	return a.emitValue(total, func(w io.Writer) {
		fmt.Fprintf(w, "republished %d events to %s.<original subject>", total.Count, f.target)
		if total.Duplicates > 0 {
			fmt.Fprintf(w, " (%d were there already: replayed to this target within the dedupe window)", total.Duplicates)
		}
		fmt.Fprintln(w)
	})
}
