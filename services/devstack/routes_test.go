package devstack_test

import (
	"io/fs"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/stella-ops/inthub/schemas"
	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/services/manager"
	metricsanalyzer "github.com/stella-ops/inthub/services/metrics-analyzer"
	"github.com/stella-ops/inthub/services/notifier"
	pipelinerunner "github.com/stella-ops/inthub/services/pipeline-runner"
	"github.com/stella-ops/inthub/shared/bus"
)

// routeTables are every service's route table.
func routeTables() map[string][]bus.Route {
	return map[string][]bus.Route{
		"manager":          manager.Routes(),
		"health-scheduler": healthscheduler.Routes(),
		"discovery-worker": discoveryworker.Routes(),
		"notifier":         notifier.Routes(),
		"pipeline-runner":  pipelinerunner.Routes(),
		"ingress":          ingress.Routes(),
		"metrics-analyzer": metricsanalyzer.Routes(),
	}
}

// asyncOp is one operation of asyncapi.yaml.
type asyncOp struct {
	id, action, service, channel string
	reply                        bool
}

// asyncDoc is what the check reads of asyncapi.yaml: channel addresses by id
// (only channels with an address) and the operations.
type asyncDoc struct {
	addresses map[string]string
	ops       []asyncOp
}

func loadAsyncDoc(t *testing.T) asyncDoc {
	t.Helper()
	raw, err := fs.ReadFile(schemas.FS, "asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Channels map[string]struct {
			Address *string `yaml:"address"`
		} `yaml:"channels"`
		Operations map[string]struct {
			Action  string `yaml:"action"`
			Service string `yaml:"x-service"`
			Channel struct {
				Ref string `yaml:"$ref"`
			} `yaml:"channel"`
			Reply *struct{} `yaml:"reply"`
		} `yaml:"operations"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	d := asyncDoc{addresses: map[string]string{}}
	for id, ch := range doc.Channels {
		if ch.Address != nil {
			d.addresses[id] = *ch.Address
		}
	}
	for id, op := range doc.Operations {
		d.ops = append(d.ops, asyncOp{id: id, action: op.Action, service: op.Service,
			channel: strings.TrimPrefix(op.Channel.Ref, "#/channels/"), reply: op.Reply != nil})
	}
	return d
}

// stem is what a subject filter or a channel address names, without its
// trailing parameters and wildcards: integration.health.changed.>, and
// integration.health.changed.{tenantId}.{integrationId} are both
// integration.health.changed.
func stem(s string) string {
	tokens := strings.Split(s, ".")
	for len(tokens) > 0 {
		last := tokens[len(tokens)-1]
		if last != ">" && last != "*" && !strings.HasPrefix(last, "{") {
			break
		}
		tokens = tokens[:len(tokens)-1]
	}
	return strings.Join(tokens, ".")
}

// use is one thing a route does with a subject: "send", "receive" or
// "call" (a request-reply client).
type use struct{ action, subject, route string }

func usesOf(table []bus.Route) []use {
	var out []use
	for _, r := range table {
		if r.Subject != "" {
			out = append(out, use{"receive", r.Subject, r.Name}) // a stream or a served endpoint
		}
		for _, s := range r.Produces {
			out = append(out, use{"send", s, r.Name})
		}
		for _, s := range r.Awaits {
			out = append(out, use{"receive", s, r.Name})
		}
		for _, s := range r.Calls {
			out = append(out, use{"call", s, r.Name})
		}
	}
	return out
}

// TestRouteTablesMatchAsyncAPI: every subject a service's route table
// consumes or produces is a channel of asyncapi.yaml with an operation of
// that service in that direction, and every operation is a line of its
// service's table: reading the tables tells all of the bus's traffic.
func TestRouteTablesMatchAsyncAPI(t *testing.T) {
	t.Parallel()
	doc := loadAsyncDoc(t)
	tables := routeTables()
	channelsOf := func(subject string) []string {
		var ids []string
		for id, addr := range doc.addresses {
			if stem(addr) == stem(subject) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	served := map[string]bool{} // endpoint subjects some table serves
	for _, table := range tables {
		for _, r := range table {
			if r.Subject != "" && !r.Consumes() {
				served[r.Subject] = true
			}
		}
	}
	for service, table := range tables {
		t.Run(service, func(t *testing.T) {
			t.Parallel()
			if len(table) == 0 {
				t.Fatal("empty route table")
			}
			for _, u := range usesOf(table) {
				ids := channelsOf(u.subject)
				if len(ids) != 1 {
					t.Errorf("route %q: %s %s is %d channels of asyncapi.yaml, want 1", u.route, u.action, u.subject, len(ids))
					continue
				}
				found := false
				for _, op := range doc.ops {
					if op.channel != ids[0] {
						continue
					}
					switch u.action {
					case "call":
						found = found || (op.action == "receive" && op.reply && served[u.subject])
					default:
						found = found || (op.action == u.action && op.service == service)
					}
				}
				if !found {
					t.Errorf("route %q: no %s operation of %s on channel %s (%s)", u.route, u.action, service, ids[0], u.subject)
				}
			}
		})
	}
	t.Run("every operation is a route", func(t *testing.T) {
		t.Parallel()
		for _, op := range doc.ops {
			table, ok := tables[op.service]
			if !ok {
				t.Errorf("operation %s: x-service %q is no service", op.id, op.service)
				continue
			}
			address := doc.addresses[op.channel]
			if !slices.ContainsFunc(usesOf(table), func(u use) bool { return u.action == op.action && stem(u.subject) == stem(address) }) {
				t.Errorf("operation %s (%s %s): not in the %s route table", op.id, op.action, address, op.service)
			}
		}
	})
	t.Run("every channel has an operation", func(t *testing.T) {
		t.Parallel()
		for id, address := range doc.addresses {
			if !slices.ContainsFunc(doc.ops, func(op asyncOp) bool { return op.channel == id }) {
				t.Errorf("channel %s (%s) is neither consumed nor produced", id, address)
			}
		}
	})
	t.Run("the notifier's rules and replays are documented", func(t *testing.T) {
		t.Parallel()
		for _, subject := range []string{"inthub.notifier.rules.create", "inthub.notifier.rules.get", "inthub.notifier.rules.list",
			"inthub.notifier.rules.replace", "inthub.notifier.rules.delete", bus.ReplayPrefix + ".>"} {
			if len(channelsOf(subject)) != 1 {
				t.Errorf("no channel for %s", subject)
			}
		}
	})
}

// TestRouteTablesAreComplete: each service's table names its handlers'
// traffic: every line says what it consumes or produces, and names are
// unique within a table.
func TestRouteTablesAreComplete(t *testing.T) {
	t.Parallel()
	for service, table := range routeTables() {
		t.Run(service, func(t *testing.T) {
			t.Parallel()
			names := map[string]bool{}
			for _, r := range table {
				if names[r.Name] {
					t.Errorf("route name %q twice", r.Name)
				}
				names[r.Name] = true
				if r.Subject == "" && len(r.Produces)+len(r.Awaits)+len(r.Calls)+len(r.Reads) == 0 {
					t.Errorf("route %q neither consumes nor produces anything", r.Name)
				}
				if r.Handler != nil || r.Endpoint != nil {
					t.Errorf("route %q: Routes() hands out a handler", r.Name)
				}
				if r.Consumes() && r.Durable == "" {
					t.Errorf("route %q consumes %s without a durable", r.Name, r.Stream)
				}
			}
		})
	}
}
