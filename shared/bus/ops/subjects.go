package ops

import (
	"regexp"
	"slices"
	"strings"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
)

// literalToken is what a subject token other than a wildcard may hold: the
// prefixes' words, tenant and integration ids (UUIDs), "_".
var literalToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// maxSubjectLen bounds a filter or target as the caller gives it.
const maxSubjectLen = 256

// template is the shape of the subjects of one known prefix: its tokens
// followed by a token for the tenant and one for the integration.
type template struct {
	tokens []string
	tenant int // index of the tenant token
}

// templates returns the shapes of prefixes, each behind lead (tokens that
// come first, like inthub.dlq).
func templates(lead []string, prefixes []string) []template {
	out := make([]template, 0, len(prefixes))
	for _, p := range prefixes {
		toks := append(slices.Clone(lead), strings.Split(p, ".")...)
		out = append(out, template{tokens: append(toks, "*", "*"), tenant: len(toks)})
	}
	return out
}

// scope is the set of subjects a filter may reach.
type scope struct {
	// name says what the filter is checked against, for error messages.
	name string
	// strip is a prefix callers may write or leave out (inthub.dlq.).
	strip string
	// shapes are the subjects' templates.
	shapes []template
}

var (
	eventScope = scope{name: "event subject", shapes: templates(nil, contracts.EventSubjects)}
	// replayScope is what an operator republished: inthub.replay.<name>.<event subject>.
	replayScope = scope{name: "replayed event subject", shapes: templates(append(strings.Split(bus.ReplayPrefix, "."), "*"), contracts.EventSubjects)}
	dlqScope    = scope{
		name: "dead-letter subject", strip: bus.DLQPrefix + ".",
		shapes: templates(strings.Split(bus.DLQPrefix, "."), busPrefixes()),
	}
	// busScope is every command and event subject: where a redrive may go.
	busScope = scope{name: "command or event subject", shapes: templates(nil, busPrefixes())}
)

func busPrefixes() []string {
	return append(slices.Clone(contracts.CommandSubjects), contracts.EventSubjects...)
}

// eventFilters turns an operator's subject filter into the stream filter
// subjects it stands for. allowReplayed lets a filter that starts with
// inthub.replay. read replayed copies; otherwise only the original events
// are reachable.
func eventFilters(filter, tenantID string, allowReplayed bool) ([]string, error) {
	sc := eventScope
	if allowReplayed && strings.HasPrefix(filter, bus.ReplayPrefix+".") {
		sc = replayScope
	}
	return sc.filters("subject", filter, tenantID)
}

// filters checks filter and returns one stream filter subject per known
// prefix it reaches, narrowed to tenantID when that is set. An empty filter
// reaches every prefix. A filter is NATS subject syntax whose wildcards are
// whole tokens (* one token, > the rest); one without wildcards that is
// shorter than a full subject is a token prefix: integration.health.changed
// means integration.health.changed.>. The result never reaches a subject
// outside the known prefixes, so no filter can read another stream's traffic
// through this one.
func (sc scope) filters(field, filter, tenantID string) ([]string, error) {
	if tenantID != "" && !literalToken.MatchString(tenantID) {
		return nil, invalid("tenantId", "must be one subject token (letters, digits, - and _), like a tenant's UUID")
	}
	if sc.strip != "" {
		filter = strings.TrimPrefix(filter, sc.strip)
	}
	var toks []string
	if filter == "" {
		toks = []string{">"}
	} else {
		var err error
		if toks, err = splitFilter(field, filter); err != nil {
			return nil, err
		}
	}
	if sc.strip != "" {
		toks = append(strings.Split(strings.TrimSuffix(sc.strip, "."), "."), toks...)
	}
	out := sc.match(toks, tenantID)
	if len(out) == 0 && toks[len(toks)-1] != ">" && !slices.Contains(toks, "*") {
		out = sc.match(append(toks, ">"), tenantID)
	}
	if len(out) == 0 {
		if tenantID != "" {
			return nil, invalid(field, "%q for tenant %s matches no %s; the subjects are <prefix>.<tenantId>.<integrationId>", filter, tenantID, sc.name)
		}
		return nil, invalid(field, "%q matches no %s; use a known prefix (%s) with .>, .<tenantId>.> or .<tenantId>.<integrationId>", filter, sc.name, strings.Join(sc.prefixes(), ", "))
	}
	return out, nil
}

func (sc scope) match(toks []string, tenantID string) []string {
	var out []string
	for _, t := range sc.shapes {
		sub, ok := intersect(toks, t.tokens)
		if !ok {
			continue
		}
		if tenantID != "" {
			switch sub[t.tenant] {
			case "*":
				sub[t.tenant] = tenantID
			case tenantID:
			default:
				continue
			}
		}
		out = append(out, strings.Join(sub, "."))
	}
	return out
}

func (sc scope) prefixes() []string {
	out := make([]string, 0, len(sc.shapes))
	for _, t := range sc.shapes {
		out = append(out, strings.Join(t.tokens[:t.tenant], "."))
	}
	return out
}

// splitFilter checks the syntax of a subject filter and splits it.
func splitFilter(field, filter string) ([]string, error) {
	if len(filter) > maxSubjectLen {
		return nil, invalid(field, "is longer than %d characters", maxSubjectLen)
	}
	toks := strings.Split(filter, ".")
	for i, tok := range toks {
		switch {
		case tok == ">" && i == len(toks)-1, tok == "*":
		case tok == ">":
			return nil, invalid(field, "%q: > may only be the last token", filter)
		case tok == "":
			return nil, invalid(field, "%q has an empty token", filter)
		case !literalToken.MatchString(tok):
			return nil, invalid(field, "%q: token %q may hold letters, digits, - and _, or be exactly * or >", filter, tok)
		}
	}
	return toks, nil
}

// intersect returns the filter that matches exactly the subjects matched by
// both f and the template t (whose tokens are literals or *), and whether
// there are any.
func intersect(f, t []string) ([]string, bool) {
	out := make([]string, 0, len(t))
	for i := 0; ; i++ {
		switch {
		case i == len(f) && i == len(t):
			return out, true
		case i == len(f) || i == len(t):
			return nil, false
		case f[i] == ">":
			return append(out, t[i:]...), true
		case f[i] == "*":
			out = append(out, t[i])
		case t[i] == "*" || t[i] == f[i]:
			out = append(out, f[i])
		default:
			return nil, false
		}
	}
}

// checkTarget validates a replay target: inthub.replay.<name>, one token of
// name. Replayed events are published to <target>.<original subject>.
func checkTarget(target string) (string, error) {
	name, ok := strings.CutPrefix(target, bus.ReplayPrefix+".")
	if target == "" {
		return "", invalid("target", "is required: %s.<name>", bus.ReplayPrefix)
	}
	if !ok || !literalToken.MatchString(name) || len(name) > 64 {
		return "", invalid("target", "%q is not %s.<name> (name: one token of up to 64 letters, digits, - and _); replays are never published onto the live subjects, so subscribers do not act on them twice", target, bus.ReplayPrefix)
	}
	return name, nil
}

// redriveSubject checks that a dead letter's original subject is a full
// subject of a known command or event prefix, so a redrive can only put a
// message back where the hub's own handlers read it.
func redriveSubject(subject string) error {
	toks := strings.Split(subject, ".")
	for _, tok := range toks {
		if !literalToken.MatchString(tok) {
			return invalid("originalSubject", "%q is not a full subject", subject)
		}
	}
	for _, t := range busScope.shapes {
		if _, ok := intersect(toks, t.tokens); ok {
			return nil
		}
	}
	return invalid("originalSubject", "%q is not a subject of a known command or event", subject)
}
