package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrUndeclared is returned by a Producer asked to publish to a subject its
// route does not declare: what a service publishes is what its route table
// says, never more.
var ErrUndeclared = errors.New("subject not declared by the route")

// Producer publishes for one route of a service's route table: only to the
// subjects the route's Produces filters match. Handlers get one from the
// router; sources (a schedule, an API) take theirs with Publisher.For.
type Producer struct {
	pub      *Publisher
	route    string
	produces []string
}

// For returns the producer of route: it publishes through p to the subjects
// route.Produces allows and refuses every other with ErrUndeclared.
func (p *Publisher) For(route Route) *Producer {
	return &Producer{pub: p, route: route.Name, produces: route.Produces}
}

// check refuses a subject the route does not declare.
func (p *Producer) check(subject string) error {
	for _, f := range p.produces {
		if SubjectMatches(f, subject) {
			return nil
		}
	}
	return fmt.Errorf("route %q publishing %s: %w (it declares %s)", p.route, subject, ErrUndeclared, declared(p.produces))
}

func declared(filters []string) string {
	if len(filters) == 0 {
		return "none"
	}
	return strings.Join(filters, ", ")
}

// Publish is Publisher.Publish for a declared subject.
func (p *Producer) Publish(ctx context.Context, ev Event) (*jetstream.PubAck, error) {
	if err := p.check(ev.Subject); err != nil {
		return nil, err
	}
	return p.pub.Publish(ctx, ev)
}

// PublishAsync is Publisher.PublishAsync for a declared subject.
func (p *Producer) PublishAsync(ctx context.Context, ev Event) (jetstream.PubAckFuture, error) {
	if err := p.check(ev.Subject); err != nil {
		return nil, err
	}
	return p.pub.PublishAsync(ctx, ev)
}

// SubjectMatches reports whether subject matches the NATS filter: "*" is one
// token, a final ">" one or more.
func SubjectMatches(filter, subject string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, f := range ft {
		if f == ">" {
			return i == len(ft)-1 && len(st) > i
		}
		if i >= len(st) || (f != "*" && f != st[i]) || st[i] == "" {
			return false
		}
	}
	return len(st) == len(ft)
}
