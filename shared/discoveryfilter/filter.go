// Package discoveryfilter applies the filters and orderings of a
// contracts.DiscoveryFilter to discovered resources: the name glob, regular
// expression allow and ignore lists, a semver constraint, and ordering by
// semver, creation time or name. The ingress and the discovery-worker
// validate a filter with Parse; connectors and the worker apply it with
// Keep and Sort, so every provider answers the same filter the same way
// (the tag policies of Argo CD Image Updater and Flux's image-reflector,
// as one API).
package discoveryfilter

import (
	"cmp"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Limits of a filter: they keep one request from compiling megabytes of
// expressions.
const (
	MaxPatternLength    = 512
	MaxExpressions      = 20
	MaxExpressionLength = 512
	MaxConstraintLength = 256
)

// The orderings (DiscoveryFilter.OrderBy) and directions (Order).
const (
	OrderByName    = "name"
	OrderBySemver  = "semver"
	OrderByCreated = "created"
	Ascending      = "asc"
	Descending     = "desc"
)

// CreatedAttribute is the resource attribute holding a creation time
// (time.Time, or an RFC 3339 string after a JSON round trip).
const CreatedAttribute = "created"

// FieldError is a filter field a request got wrong; Field is its JSON path
// in a discovery request ("filter.allow[1]").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Message }

// Filter is a parsed, valid DiscoveryFilter. The zero Filter keeps every
// name and leaves the order alone.
type Filter struct {
	glob       string
	allow      []*regexp.Regexp
	ignore     []*regexp.Regexp
	constraint *semver.Constraints
	orderBy    string
	descending bool
}

// Parse checks f; a broken field is a *FieldError naming it.
func Parse(f contracts.DiscoveryFilter) (*Filter, error) {
	out := &Filter{glob: f.NamePattern, orderBy: f.OrderBy}
	if len(f.NamePattern) > MaxPatternLength {
		return nil, &FieldError{"filter.namePattern", fmt.Sprintf("filter.namePattern is longer than %d characters", MaxPatternLength)}
	}
	if _, err := path.Match(f.NamePattern, ""); err != nil {
		return nil, &FieldError{"filter.namePattern", "filter.namePattern is not a valid glob (* ? [a-z] and \\ escapes)"}
	}
	var err error
	if out.allow, err = compile("allow", f.Allow); err != nil {
		return nil, err
	}
	if out.ignore, err = compile("ignore", f.Ignore); err != nil {
		return nil, err
	}
	if f.Semver != "" {
		if len(f.Semver) > MaxConstraintLength {
			return nil, &FieldError{"filter.semver", fmt.Sprintf("filter.semver is longer than %d characters", MaxConstraintLength)}
		}
		if out.constraint, err = semver.NewConstraint(f.Semver); err != nil {
			return nil, &FieldError{"filter.semver", "filter.semver is not a semver constraint (e.g. >=1.2.0 <2.0.0, ~1.4, ^2)"}
		}
	}
	switch f.OrderBy {
	case "", OrderByName:
	case OrderBySemver, OrderByCreated:
		out.descending = true // newest first unless asked otherwise
	default:
		return nil, &FieldError{"filter.orderBy", "filter.orderBy must be name, semver or created"}
	}
	switch f.Order {
	case "":
	case Ascending, Descending:
		if f.OrderBy == "" {
			return nil, &FieldError{"filter.order", "filter.order needs filter.orderBy"}
		}
		out.descending = f.Order == Descending
	default:
		return nil, &FieldError{"filter.order", "filter.order must be asc or desc"}
	}
	return out, nil
}

func compile(field string, exprs []string) ([]*regexp.Regexp, error) {
	if len(exprs) > MaxExpressions {
		return nil, &FieldError{"filter." + field, fmt.Sprintf("filter.%s holds more than %d expressions", field, MaxExpressions)}
	}
	out := make([]*regexp.Regexp, 0, len(exprs))
	for i, e := range exprs {
		name := fmt.Sprintf("filter.%s[%d]", field, i)
		if len(e) > MaxExpressionLength {
			return nil, &FieldError{name, fmt.Sprintf("%s is longer than %d characters", name, MaxExpressionLength)}
		}
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, &FieldError{name, name + " is not a regular expression (RE2 syntax)"}
		}
		out = append(out, re)
	}
	return out, nil
}

// Narrows reports whether Keep can drop a name.
func (f *Filter) Narrows() bool {
	return f.glob != "" || len(f.allow) > 0 || len(f.ignore) > 0 || f.constraint != nil
}

// Ordered reports whether Sort changes the order.
func (f *Filter) Ordered() bool { return f.orderBy != "" }

// Keep reports whether a name passes the glob, matches one allow
// expression (when there are any), no ignore expression, and the semver
// constraint (a name that is no version never does).
func (f *Filter) Keep(name string) bool {
	if f.glob != "" {
		if ok, _ := path.Match(f.glob, name); !ok {
			return false
		}
	}
	if len(f.allow) > 0 && !slices.ContainsFunc(f.allow, func(re *regexp.Regexp) bool { return re.MatchString(name) }) {
		return false
	}
	if slices.ContainsFunc(f.ignore, func(re *regexp.Regexp) bool { return re.MatchString(name) }) {
		return false
	}
	if f.constraint != nil {
		v, err := semver.NewVersion(name)
		if err != nil || !f.constraint.Check(v) {
			return false
		}
	}
	return true
}

// Sort orders items as the filter asks, stably. Items lacking the key (a
// name that is no version, a resource without a creation time) come after
// the others in either direction, in name order, so the first item is always
// the best candidate.
func (f *Filter) Sort(items []contracts.Resource) {
	if f.orderBy == "" {
		return
	}
	type keyed struct {
		item contracts.Resource
		key  SortKey
	}
	ks := make([]keyed, len(items))
	for i, it := range items {
		ks[i] = keyed{item: it, key: f.Key(it)}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return f.Compare(a.key, b.key) })
	for i := range ks {
		items[i] = ks[i].item
	}
}

// SortKey is what the filter's order compares of a resource: Key computes
// it once, Compare orders two. A caller that cannot hold every item (the
// discovery-worker paging a result of tens of thousands of tags) orders
// them with these a page at a time, as Sort would.
type SortKey struct {
	name    string
	version *semver.Version
	created time.Time
}

// Key returns r's sort key under the filter's order.
func (f *Filter) Key(r contracts.Resource) SortKey {
	k := SortKey{name: r.Name}
	switch f.orderBy {
	case OrderBySemver:
		k.version, _ = semver.NewVersion(r.Name)
	case OrderByCreated:
		k.created = Created(r)
	}
	return k
}

// Compare orders two keys as Sort does (0: Sort keeps their order).
func (f *Filter) Compare(a, b SortKey) int {
	dir := 1
	if f.descending {
		dir = -1
	}
	switch f.orderBy {
	case OrderBySemver:
		switch {
		case a.version != nil && b.version != nil:
			if c := a.version.Compare(b.version); c != 0 {
				return dir * c
			}
		case a.version != nil:
			return -1
		case b.version != nil:
			return 1
		}
		return strings.Compare(a.name, b.name)
	case OrderByCreated:
		switch {
		case !a.created.IsZero() && !b.created.IsZero():
			if c := a.created.Compare(b.created); c != 0 {
				return dir * c
			}
		case !a.created.IsZero():
			return -1
		case !b.created.IsZero():
			return 1
		}
		return strings.Compare(a.name, b.name)
	case "":
		return 0
	}
	return dir * cmp.Compare(a.name, b.name)
}

// Created returns a resource's creation time, zero when it has none.
func Created(r contracts.Resource) time.Time {
	switch v := r.Attributes[CreatedAttribute].(type) {
	case time.Time:
		return v
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err == nil {
			return t
		}
	}
	return time.Time{}
}
