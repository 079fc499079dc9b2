package healthscheduler

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// healthEntry is one write (or delete) of the health bucket.
type healthEntry struct {
	jetstream.KeyValueEntry
	key, value string
	op         jetstream.KeyValueOp
}

func (e healthEntry) Key() string                     { return e.key }
func (e healthEntry) Value() []byte                   { return []byte(e.value) }
func (e healthEntry) Operation() jetstream.KeyValueOp { return e.op }

// The gauges count integrations by status and time the longest unhealthy
// one from when it turned unhealthy: a later unhealthy result does not
// restart its clock, recovering or being deleted stops it.
func TestHealthGauges(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	g := newHealthGauges(func() time.Time { return now })
	reg := prometheus.NewRegistry()
	reg.MustRegister(g)
	put := func(key, status string) {
		g.apply(healthEntry{key: key, value: `{"status":"` + status + `","checks":{}}`, op: jetstream.KeyValuePut})
	}
	steps := []struct {
		name    string
		advance time.Duration
		do      func()
		want    string
	}{
		{"a turns unhealthy, b healthy", 0, func() { put("t.a", "unhealthy"); put("t.b", "healthy") },
			`healthy 1|degraded 0|unhealthy 1|unknown 0|longest 0`},
		{"ten minutes later a is still unhealthy", 10 * time.Minute, func() { put("t.a", "unhealthy") },
			`healthy 1|degraded 0|unhealthy 1|unknown 0|longest 600`},
		{"c turns unhealthy later: the longest stays a's", 5 * time.Minute, func() { put("t.c", "unhealthy") },
			`healthy 1|degraded 0|unhealthy 2|unknown 0|longest 900`},
		{"a recovers: c's is the longest", time.Minute, func() { put("t.a", "degraded") },
			`healthy 1|degraded 1|unhealthy 1|unknown 0|longest 60`},
		{"c is deleted, a record that does not decode is ignored", 0, func() {
			g.apply(healthEntry{key: "t.c", op: jetstream.KeyValueDelete})
			g.apply(healthEntry{key: "t.d", value: `{"status":"sick"}`, op: jetstream.KeyValuePut})
		}, `healthy 1|degraded 1|unhealthy 0|unknown 0|longest 0`},
	}
	for _, step := range steps {
		now = now.Add(step.advance)
		step.do()
		values := gathered(t, reg)
		got := []string{}
		for _, st := range []string{"healthy", "degraded", "unhealthy", "unknown"} {
			got = append(got, st+" "+values["inthub_integrations/"+st])
		}
		got = append(got, "longest "+values["inthub_integration_unhealthy_longest_seconds/"])
		if strings.Join(got, "|") != step.want {
			t.Errorf("%s: %s, want %s", step.name, strings.Join(got, "|"), step.want)
		}
	}
}

// gathered is every sample of reg as "name/first label value" -> value.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			label := ""
			if len(m.GetLabel()) > 0 {
				label = m.GetLabel()[0].GetValue()
			}
			out[f.GetName()+"/"+label] = strconv.FormatFloat(m.GetGauge().GetValue(), 'f', -1, 64)
		}
	}
	return out
}
