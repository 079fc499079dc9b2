package connectors

import (
	"context"
	"encoding/json"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
)

// Reactor adds an emoji reaction to a message (Slack marks a resolved
// thread's root with one).
type Reactor interface {
	React(ctx context.Context, channel, ts, name string) error
}

// Scrubbing is a connector wrapped so that every text leaving it passes
// through a credentials.Scrubber: a server that echoes the credentials it
// received (a hostile endpoint, a misconfigured proxy, an SMTP server
// quoting the AUTH line) cannot get them into answers, events or logs.
//
// Go cannot give the wrapper only the capabilities of what it wraps, so
// callers reach capabilities through AsChecker, AsDiscoverer and the other
// As functions, never by a type assertion on a Connector.
type Scrubbing struct {
	inner    Connector
	scrubber *credentials.Scrubber
}

// Scrub wraps c so that its errors and returned texts pass through s.
func Scrub(c Connector, s *credentials.Scrubber) *Scrubbing {
	return &Scrubbing{inner: c, scrubber: s}
}

// WithScrubber returns o reporting every credential its client sends to s
// and value-scrubbing error bodies with s before the snippet's patterns; a
// nil s leaves o as it is.
func WithScrubber(o httpx.Options, s *credentials.Scrubber) httpx.Options {
	if s != nil {
		o.OnCredential = func(v string) { s.Add(v) }
		o.Scrub = s.String
	}
	return o
}

// Unwrap returns the wrapped connector.
func (w *Scrubbing) Unwrap() Connector { return w.inner }

// Scrubber returns the scrubber the wrapper applies.
func (w *Scrubbing) Scrubber() *credentials.Scrubber { return w.scrubber }

// Close implements Connector.
func (w *Scrubbing) Close() error { return w.scrubber.Error(w.inner.Close()) }

// capability returns c's implementation of T (unwrapping a Scrubbing) and
// the scrubber to apply, nil when c is not wrapped.
func capability[T any](c Connector) (T, *credentials.Scrubber, bool) {
	var s *credentials.Scrubber
	if w, ok := c.(*Scrubbing); ok {
		c, s = w.inner, w.scrubber
	}
	t, ok := c.(T)
	return t, s, ok
}

// AsChecker returns c's health checks, scrubbed when c is wrapped.
func AsChecker(c Connector) (Checker, bool) {
	in, s, ok := capability[Checker](c)
	if !ok || s == nil {
		return in, ok
	}
	return scrubChecker{in, s}, true
}

// AsDiscoverer returns c's discovery, scrubbed when c is wrapped.
func AsDiscoverer(c Connector) (Discoverer, bool) {
	in, s, ok := capability[Discoverer](c)
	if !ok || s == nil {
		return in, ok
	}
	return scrubDiscoverer{in, s}, true
}

// AsNotifier returns c's notifications, scrubbed when c is wrapped.
func AsNotifier(c Connector) (Notifier, bool) {
	in, s, ok := capability[Notifier](c)
	if !ok || s == nil {
		return in, ok
	}
	return scrubNotifier{in, s}, true
}

// AsTriggerer returns c's pipeline triggers, scrubbed when c is wrapped.
func AsTriggerer(c Connector) (Triggerer, bool) {
	in, s, ok := capability[Triggerer](c)
	if !ok || s == nil {
		return in, ok
	}
	return scrubTriggerer{in, s}, true
}

// AsMetricsQuerier returns c's metrics queries, scrubbed when c is wrapped.
func AsMetricsQuerier(c Connector) (MetricsQuerier, bool) {
	in, s, ok := capability[MetricsQuerier](c)
	if !ok || s == nil {
		return in, ok
	}
	return scrubQuerier{in, s}, true
}

// AsReactor returns c's message reactions, scrubbed when c is wrapped.
func AsReactor(c Connector) (Reactor, bool) {
	in, s, ok := capability[Reactor](c)
	if !ok || s == nil {
		return in, ok
	}
	return scrubReactor{in, s}, true
}

// AsSecretReader returns c's secret reads. Only their errors are scrubbed:
// the values read are the secrets asked for, for another integration's use.
// When c's reads carry leases the result is a credentials.LeaseReader too.
func AsSecretReader(c Connector) (SecretReader, bool) {
	in, s, ok := capability[SecretReader](c)
	if !ok || s == nil {
		return in, ok
	}
	if lr, ok := in.(credentials.LeaseReader); ok {
		return scrubLeaseReader{scrubSecretReader{in, s}, lr}, true
	}
	return scrubSecretReader{in, s}, true
}

type scrubChecker struct {
	in Checker
	s  *credentials.Scrubber
}

func (c scrubChecker) CheckConnectivity(ctx context.Context) error {
	return c.s.Error(c.in.CheckConnectivity(ctx))
}

func (c scrubChecker) CheckAuthentication(ctx context.Context) error {
	return c.s.Error(c.in.CheckAuthentication(ctx))
}

func (c scrubChecker) CheckFunctionality(ctx context.Context) error {
	return c.s.Error(c.in.CheckFunctionality(ctx))
}

type scrubDiscoverer struct {
	in Discoverer
	s  *credentials.Scrubber
}

// Discover scrubs every text of the page: names, ids, metadata and the
// cursor (opaque to callers, but it travels in events and answers too).
func (d scrubDiscoverer) Discover(ctx context.Context, q DiscoveryQuery) (DiscoveryPage, error) {
	page, err := d.in.Discover(ctx, q)
	if err != nil {
		return DiscoveryPage{}, d.s.Error(err)
	}
	page.NextCursor = d.s.String(page.NextCursor)
	items := make([]contracts.Resource, len(page.Items))
	for i, r := range page.Items {
		r.ID, r.Name, r.Type = d.s.String(r.ID), d.s.String(r.Name), d.s.String(r.Type)
		if r.Attributes != nil {
			r.Attributes = scrubValue(d.s, r.Attributes).(map[string]any)
		}
		items[i] = r
	}
	page.Items = items
	return page, nil
}

// scrubValue scrubs every string in a JSON-like value, keys included,
// without changing the caller's maps.
func scrubValue(s *credentials.Scrubber, v any) any {
	switch x := v.(type) {
	case string:
		return s.String(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[s.String(k)] = scrubValue(s, e)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[s.String(k)] = s.String(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrubValue(s, e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = s.String(e)
		}
		return out
	case nil, bool, int, int64, float64, json.Number:
		return v
	}
	// Anything else (a struct, a typed slice) is published as JSON: scrub
	// its JSON form.
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var generic any
	if json.Unmarshal(b, &generic) != nil {
		return v
	}
	return scrubValue(s, generic)
}

type scrubNotifier struct {
	in Notifier
	s  *credentials.Scrubber
}

func (n scrubNotifier) Notify(ctx context.Context, m Message) (string, error) {
	id, err := n.in.Notify(ctx, m)
	return n.s.String(id), n.s.Error(err)
}

type scrubTriggerer struct {
	in Triggerer
	s  *credentials.Scrubber
}

func (t scrubTriggerer) Trigger(ctx context.Context, pipeline, ref string, params map[string]string) (RunRef, error) {
	run, err := t.in.Trigger(ctx, pipeline, ref, params)
	return scrubRunRef(t.s, run), t.s.Error(err)
}

func scrubRunRef(s *credentials.Scrubber, r RunRef) RunRef {
	r.ID, r.Pipeline, r.Ref, r.WebURL = s.String(r.ID), s.String(r.Pipeline), s.String(r.Ref), s.String(r.WebURL)
	return r
}

// AsRunFollower returns c's run status and cancel, scrubbed when c is wrapped.
func AsRunFollower(c Connector) (RunFollower, bool) {
	in, s, ok := capability[RunFollower](c)
	if !ok || s == nil {
		return in, ok
	}
	return scrubFollower{in, s}, true
}

type scrubFollower struct {
	in RunFollower
	s  *credentials.Scrubber
}

func (f scrubFollower) RunStatus(ctx context.Context, run RunRef) (RunState, error) {
	st, err := f.in.RunStatus(ctx, run)
	if err != nil {
		return RunState{}, f.s.Error(err)
	}
	st.Ref = scrubRunRef(f.s, st.Ref)
	jobs := make([]contracts.PipelineJob, len(st.Jobs))
	for i, j := range st.Jobs {
		j.Name, j.Stage = f.s.String(j.Name), f.s.String(j.Stage)
		jobs[i] = j
	}
	if st.Jobs != nil {
		st.Jobs = jobs
	}
	return st, nil
}

func (f scrubFollower) CancelRun(ctx context.Context, run RunRef) error {
	return f.s.Error(f.in.CancelRun(ctx, run))
}

type scrubQuerier struct {
	in MetricsQuerier
	s  *credentials.Scrubber
}

func (q scrubQuerier) Query(ctx context.Context, query contracts.MetricsQuery) (contracts.MetricsResult, error) {
	res, err := q.in.Query(ctx, query)
	for i := range res.Series {
		sr := &res.Series[i]
		labels := make(map[string]string, len(sr.Labels))
		for k, v := range sr.Labels {
			labels[q.s.String(k)] = q.s.String(v)
		}
		sr.Labels, sr.Unit = labels, q.s.String(sr.Unit)
	}
	return res, q.s.Error(err)
}

type scrubReactor struct {
	in Reactor
	s  *credentials.Scrubber
}

func (r scrubReactor) React(ctx context.Context, channel, ts, name string) error {
	return r.s.Error(r.in.React(ctx, channel, ts, name))
}

type scrubSecretReader struct {
	in SecretReader
	s  *credentials.Scrubber
}

func (r scrubSecretReader) ReadSecret(ctx context.Context, path string) (map[string]string, error) {
	data, err := r.in.ReadSecret(ctx, path)
	return data, r.s.Error(err)
}

type scrubLeaseReader struct {
	scrubSecretReader
	lr credentials.LeaseReader
}

func (r scrubLeaseReader) ReadSecretLease(ctx context.Context, path string) (credentials.StoreSecret, error) {
	got, err := r.lr.ReadSecretLease(ctx, path)
	return got, r.s.Error(err)
}
