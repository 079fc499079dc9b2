package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// fault is what a scenario did: the process it stopped, and each stop.
type fault struct {
	target string
	flow   flow // the killed worker's flow, for the "runs elsewhere" goal
	cycles []cycle
}

// cycle is one stop: when, and when the restarted process was ready again
// (zero: never back).
type cycle struct {
	at, back time.Time
}

// injected reports whether anything was stopped.
func (f fault) injected() bool { return len(f.cycles) > 0 }

// allBack reports whether every stopped process came back.
func (f fault) allBack() bool {
	for _, c := range f.cycles {
		if c.back.IsZero() {
			return false
		}
	}
	return true
}

// auditInput is everything the audit counts, by id.
type auditInput struct {
	ops   []opRecord
	reads []readSample
	// stored is the integrations bucket: integration id to name.
	stored map[string]string
	// created is every integration.created event by integration id.
	created map[string][]time.Time
	// done is every test, discovery and notification outcome by request id.
	done map[string][]completion
	// sent counts notification.sent events by request id.
	sent map[string]int
	// deliveries is what the webhook receiver got, by request id.
	deliveries map[string]delivered
	// providerRuns counts the pipelines the CI target created per request.
	providerRuns map[string]int
	fault        fault
}

// Durations of a flowResult that do not apply or never happened.
const (
	notApplicable time.Duration = -1
	never         time.Duration = -2
)

// flowResult is one row of the table.
type flowResult struct {
	flow flow
	// sent operations; done have their completion (a 201, a completion
	// event, a delivery at the receiver); lost = sent - done.
	sent, done, lost int
	// dups are extra copies: stored integrations with a name already
	// stored, extra completion events, extra deliveries of one request.
	dups int
	// noEvent: stored integrations without exactly one integration.created,
	// notifications delivered without a notification.sent, or runs
	// completed with another verdict than their target gives; -1: n/a.
	noEvent int
	// recovery is from the process being back to the flow's first success
	// (the longest over the stops); inFlight is from a stop to the
	// completion of the last operation sent before it; maxLatency is the
	// slowest completed operation.
	recovery, inFlight, maxLatency time.Duration
	// stuck is from a restarted process being back to the completion of
	// the last operation sent before it stopped: work held up past the
	// return.
	stuck time.Duration
	// lostIDs are a few lost operations, for the logs.
	lostIDs []string
}

// auditReport is the audit of one run.
type auditReport struct {
	rows []flowResult
	// phantoms are integration.created events of integrations not stored.
	phantoms int
}

// audit counts, by id, what was sent, completed, lost and duplicated.
func audit(in auditInput) auditReport {
	byFlow := map[flow][]opRecord{}
	for _, op := range in.ops {
		byFlow[op.flow] = append(byFlow[op.flow], op)
	}
	var rep auditReport
	for _, f := range flows {
		if runFlow(f) && len(byFlow[f]) == 0 {
			continue // a scenario without runs
		}
		switch f {
		case flowRead:
			rep.rows = append(rep.rows, readRow(in))
		case flowCreate:
			rep.rows = append(rep.rows, createRow(in, byFlow[f]))
		default:
			rep.rows = append(rep.rows, commandRow(in, f, byFlow[f]))
		}
	}
	for id := range in.created {
		if _, ok := in.stored[id]; !ok {
			rep.phantoms++
		}
	}
	return rep
}

// createRow audits the creates: done is a 201; a duplicate is a second
// stored integration with an operation's name; every stored integration
// needs exactly one integration.created event.
func createRow(in auditInput, ops []opRecord) flowResult {
	r := flowResult{flow: flowCreate, noEvent: 0}
	names := map[string]int{}
	for _, name := range in.stored {
		names[name]++
	}
	var successes []time.Time
	tr := newTimer(in.fault)
	for _, op := range ops {
		r.sent++
		r.dups += max(0, names[op.id]-1)
		if op.accepted.IsZero() {
			r.lost++
			r.lostIDs = appendSome(r.lostIDs, op.id+" ("+clip(op.failure)+")")
			continue
		}
		r.done++
		successes = append(successes, op.accepted)
		tr.add(op.sent, op.accepted)
	}
	for id := range in.stored {
		if len(in.created[id]) != 1 {
			r.noEvent++
		}
	}
	r.recovery, r.inFlight, r.stuck, r.maxLatency = recovery(successes, in.fault), tr.inFlight, tr.stuck, tr.maxLatency
	return r
}

// commandRow audits test, discovery and notification commands by request
// id: a test or discovery is done with its completion event, a
// notification with a delivery at the receiver (and it also needs its
// notification.sent event).
func commandRow(in auditInput, f flow, ops []opRecord) flowResult {
	r := flowResult{flow: f, noEvent: -1}
	if f == flowNotify || runFlow(f) {
		r.noEvent = 0
	}
	var successes []time.Time
	tr := newTimer(in.fault)
	for _, op := range ops {
		r.sent++
		var times []time.Time
		if f == flowNotify {
			d := in.deliveries[op.id]
			times = d.times
			if len(times) > 0 && in.sent[op.id] == 0 {
				r.noEvent++
			}
		} else {
			for _, c := range in.done[op.id] {
				times = append(times, c.at)
				if runFlow(f) && c.verdict != op.want {
					r.noEvent++
				}
			}
		}
		if f == flowPipeline {
			// A trigger that reached the provider twice started two runs.
			r.dups += max(0, in.providerRuns[op.id]-1)
		}
		if len(times) == 0 {
			r.lost++
			why := "no completion"
			if op.accepted.IsZero() {
				why = "never accepted: " + clip(op.failure)
			}
			r.lostIDs = appendSome(r.lostIDs, op.id+" ("+why+")")
			continue
		}
		r.done++
		r.dups += len(times) - 1
		first := slices.MinFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		successes = append(successes, times...)
		tr.add(op.sent, first)
	}
	r.recovery, r.inFlight, r.stuck, r.maxLatency = recovery(successes, in.fault), tr.inFlight, tr.stuck, tr.maxLatency
	return r
}

// readRow audits the list calls: they are not commands, so none is lost;
// their recovery shows how long the catalog stayed unreadable.
func readRow(in auditInput) flowResult {
	r := flowResult{flow: flowRead, noEvent: -1, inFlight: notApplicable, stuck: notApplicable, maxLatency: notApplicable}
	var successes []time.Time
	for _, s := range in.reads {
		r.sent++
		if s.ok {
			r.done++
			successes = append(successes, s.at)
		}
	}
	r.recovery = recovery(successes, in.fault)
	return r
}

// recovery is the time from a restarted process being back to the first
// success at or after it, the longest over f's stops; never when a stop
// was not followed by a success.
func recovery(successes []time.Time, f fault) time.Duration {
	out := notApplicable
	for _, c := range f.cycles {
		if c.back.IsZero() {
			continue
		}
		best := never
		for _, t := range successes {
			if t.Before(c.back) {
				continue
			}
			if d := t.Sub(c.back); best == never || d < best {
				best = d
			}
		}
		if best == never || out == never {
			out = never
			continue
		}
		out = max(out, best)
	}
	return out
}

// timer tracks the slowest operation and how long those sent before a stop
// took to complete after it.
type timer struct {
	cycles                      []cycle
	inFlight, stuck, maxLatency time.Duration
}

func newTimer(f fault) *timer {
	t := &timer{cycles: f.cycles, inFlight: notApplicable, stuck: notApplicable, maxLatency: 0}
	if f.injected() {
		t.inFlight, t.stuck = 0, 0
	}
	return t
}

// add records an operation sent at sent and done at done; against the
// first stop between the two.
func (t *timer) add(sent, done time.Time) {
	t.maxLatency = max(t.maxLatency, done.Sub(sent))
	for _, c := range t.cycles {
		if sent.Before(c.at) && done.After(c.at) {
			t.inFlight = max(t.inFlight, done.Sub(c.at))
			if !c.back.IsZero() {
				t.stuck = max(t.stuck, done.Sub(c.back))
			}
			return
		}
	}
}

// appendSome keeps the first three examples.
func appendSome(list []string, s string) []string {
	if len(list) < 3 {
		return append(list, s)
	}
	return list
}

// clip shortens an error for the table's notes.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// goals are the targets: work resumes within recovery of the
// process (or NATS) being back, and a killed worker's commands run on
// another replica within elsewhere.
type goals struct {
	recovery, elsewhere time.Duration
}

// verdict lists what went wrong in a run; lost is true when anything was
// lost (an operation without completion, a stored change without exactly
// one event, a notification delivered zero times).
func verdict(rep auditReport, f fault, g goals) (problems []string, lost bool) {
	for _, r := range rep.rows {
		if r.flow != flowRead && r.lost > 0 {
			lost = true
			problems = append(problems, fmt.Sprintf("%d %s lost (e.g. %s)", r.lost, r.flow, strings.Join(r.lostIDs, ", ")))
		}
		if r.noEvent > 0 {
			lost = true
			what := "stored integrations without exactly one integration.created"
			switch {
			case r.flow == flowNotify:
				what = "notifications delivered without notification.sent"
			case runFlow(r.flow):
				what = string(r.flow) + " completions with another verdict than their target gives"
			}
			problems = append(problems, fmt.Sprintf("%d %s", r.noEvent, what))
		}
		if r.dups > 0 {
			problems = append(problems, fmt.Sprintf("%d duplicate %s", r.dups, r.flow))
			if runFlow(r.flow) {
				// A run completes exactly once, and starts once at the
				// provider: a duplicate is what the run scenarios look for.
				lost = true
			}
		}
		switch {
		case r.recovery == never:
			problems = append(problems, fmt.Sprintf("%s did not resume after %s was back", r.flow, f.target))
		case r.recovery > g.recovery:
			problems = append(problems, fmt.Sprintf("%s resumed %ss after %s was back (goal %s)", r.flow, seconds(r.recovery), f.target, g.recovery))
		}
		switch {
		case runFlow(r.flow):
			// A run lasts seconds by itself and one replica follows it:
			// its in-flight times are reported, not held to the goals.
		case f.flow == r.flow && r.inFlight > g.elsewhere:
			problems = append(problems, fmt.Sprintf("%s in flight at the kill completed %ss after it (goal %s, elsewhere)", r.flow, seconds(r.inFlight), g.elsewhere))
		case f.flow != r.flow && r.stuck > g.recovery:
			problems = append(problems, fmt.Sprintf("%s in flight at the stop completed %ss after %s was back (goal %s)", r.flow, seconds(r.stuck), f.target, g.recovery))
		}
	}
	if rep.phantoms > 0 {
		problems = append(problems, fmt.Sprintf("%d integration.created events of integrations not stored", rep.phantoms))
	}
	if !f.allBack() {
		lost = true
		problems = append(problems, f.target+" did not come back")
	}
	return problems, lost
}

// seconds prints a duration of the table.
func seconds(d time.Duration) string {
	switch d {
	case notApplicable:
		return "-"
	case never:
		return "never"
	}
	return fmt.Sprintf("%.1f", d.Seconds())
}
