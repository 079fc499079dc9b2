package connectors_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

const leaked = "t0ken-echoed"

// everything implements every capability and echoes the secret in each
// text it returns.
type everything struct{}

func (everything) Close() error { return nil }
func (everything) fail() error {
	return &resilience.Error{Code: resilience.RateLimited, Message: "echo " + leaked, RetryAfter: 3 * time.Second}
}
func (e everything) CheckConnectivity(context.Context) error   { return e.fail() }
func (e everything) CheckAuthentication(context.Context) error { return e.fail() }
func (e everything) CheckFunctionality(context.Context) error  { return e.fail() }
func (everything) Discover(context.Context, connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	return connectors.DiscoveryPage{NextCursor: "c-" + leaked, Items: []contracts.Resource{{
		Type: "repositories", Name: "repo-" + leaked, ID: leaked,
		Attributes: map[string]any{"k": leaked, leaked: []any{leaked, 1.5}, "s": struct{ V string }{leaked}},
	}}}, nil
}
func (everything) Notify(context.Context, connectors.Message) (string, error) {
	return "id-" + leaked, nil
}
func (everything) Trigger(context.Context, string, string, map[string]string) (connectors.RunRef, error) {
	return connectors.RunRef{ID: "run-" + leaked, WebURL: "https://ci/" + leaked, Ref: leaked}, nil
}
func (e everything) Query(context.Context, contracts.MetricsQuery) (contracts.MetricsResult, error) {
	return contracts.MetricsResult{Series: []contracts.MetricSeries{{Labels: map[string]string{"l": leaked, leaked: "v"}, Unit: "u-" + leaked}}}, e.fail()
}
func (everything) RunStatus(context.Context, connectors.RunRef) (connectors.RunState, error) {
	return connectors.RunState{Status: contracts.RunRunning, Ref: connectors.RunRef{ID: leaked, Pipeline: leaked},
		Jobs: []contracts.PipelineJob{{Name: "job-" + leaked, Stage: leaked, Status: "running"}}}, nil
}
func (e everything) CancelRun(context.Context, connectors.RunRef) error  { return e.fail() }
func (e everything) React(context.Context, string, string, string) error { return e.fail() }
func (everything) ReadSecret(context.Context, string) (map[string]string, error) {
	return map[string]string{"value": leaked}, nil
}
func (everything) ReadSecretLease(context.Context, string) (credentials.StoreSecret, error) {
	return credentials.StoreSecret{Data: map[string]string{"value": leaked}, Lease: time.Minute}, nil
}

func TestScrubbingCoversEveryCapability(t *testing.T) {
	t.Parallel()
	s := credentials.NewScrubber(0)
	s.Add(leaked)
	conn := connectors.Scrub(everything{}, s)
	ctx := context.Background()
	var texts []string
	collect := func(err error) {
		if err != nil {
			texts = append(texts, err.Error())
			if resilience.CodeOf(err) != resilience.RateLimited || resilience.RetryAfterOf(err) != 3*time.Second {
				t.Errorf("code or Retry-After lost: %v", err)
			}
		}
	}
	c, ok := connectors.AsChecker(conn)
	if !ok {
		t.Fatal("no checker")
	}
	collect(c.CheckConnectivity(ctx))
	collect(c.CheckAuthentication(ctx))
	collect(c.CheckFunctionality(ctx))
	d, _ := connectors.AsDiscoverer(conn)
	page, err := d.Discover(ctx, connectors.DiscoveryQuery{})
	collect(err)
	texts = append(texts, page.NextCursor, page.Items[0].Name, page.Items[0].ID)
	for k, v := range page.Items[0].Attributes {
		texts = append(texts, k, strings.TrimSpace(strings.ReplaceAll(strings.Trim(fmtAny(v), "[]{}"), " ", "")))
	}
	n, _ := connectors.AsNotifier(conn)
	id, err := n.Notify(ctx, connectors.Message{})
	collect(err)
	tr, _ := connectors.AsTriggerer(conn)
	run, err := tr.Trigger(ctx, "", "", nil)
	collect(err)
	rf, _ := connectors.AsRunFollower(conn)
	st, err := rf.RunStatus(ctx, run)
	collect(err)
	collect(rf.CancelRun(ctx, run))
	texts = append(texts, st.Ref.ID, st.Ref.Pipeline, st.Jobs[0].Name, st.Jobs[0].Stage, run.WebURL, run.Ref)
	q, _ := connectors.AsMetricsQuerier(conn)
	res, err := q.Query(ctx, contracts.MetricsQuery{})
	collect(err)
	for k, v := range res.Series[0].Labels {
		texts = append(texts, k, v)
	}
	texts = append(texts, res.Series[0].Unit)
	r, _ := connectors.AsReactor(conn)
	collect(r.React(ctx, "", "", ""))
	texts = append(texts, id, run.ID)
	for _, text := range texts {
		if strings.Contains(text, leaked) {
			t.Errorf("secret left in %q", text)
		}
	}
	if len(texts) < 12 {
		t.Fatalf("only %d texts collected", len(texts))
	}

	sr, _ := connectors.AsSecretReader(conn)
	if data, err := sr.ReadSecret(ctx, "p"); err != nil || data["value"] != leaked {
		t.Fatalf("a secret store's value must come back as read: %v %v", data, err)
	}
	lr, ok := sr.(credentials.LeaseReader)
	if !ok {
		t.Fatal("the lease reader was lost by the wrapper")
	}
	if got, err := lr.ReadSecretLease(ctx, "p"); err != nil || got.Data["value"] != leaked || got.Lease != time.Minute {
		t.Fatalf("lease read: %+v %v", got, err)
	}
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmtAny(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		var parts []string
		for k, e := range x {
			parts = append(parts, k+":"+fmtAny(e))
		}
		return strings.Join(parts, ",")
	}
	return ""
}

func TestAsFunctionsWithoutWrapper(t *testing.T) {
	t.Parallel()
	if c, ok := connectors.AsChecker(everything{}); !ok || c.CheckConnectivity(context.Background()) == nil {
		t.Fatal("an unwrapped connector's capability must be returned as is")
	}
	if _, ok := connectors.AsTriggerer(struct{ connectors.Connector }{}); ok {
		t.Fatal("a capability was invented")
	}
}
