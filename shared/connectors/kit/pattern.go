package kit

import (
	"errors"
	"path"
	"strings"

	"github.com/stella-ops/inthub/shared/resilience"
)

// MaxPatternLength bounds a DiscoveryFilter.NamePattern: path.Match is
// linear, but nobody needs a longer glob.
const MaxPatternLength = 512

// Pattern is a checked DiscoveryFilter.NamePattern: a path.Match glob
// (*, ?, [a-z], \ escapes; '*' does not cross '/'). The zero Pattern
// matches everything.
type Pattern struct{ glob string }

// ParsePattern checks a name pattern up front, so a malformed or oversized
// glob fails the call (INVALID_CONFIG) instead of silently matching nothing.
func ParsePattern(glob string) (Pattern, error) {
	if len(glob) > MaxPatternLength {
		return Pattern{}, resilience.New(resilience.InvalidConfig, "filter.namePattern is longer than %d characters", MaxPatternLength)
	}
	if _, err := path.Match(glob, ""); errors.Is(err, path.ErrBadPattern) {
		return Pattern{}, resilience.New(resilience.InvalidConfig, "filter.namePattern is not a valid glob (path.Match syntax)")
	}
	return Pattern{glob: glob}, nil
}

// Match reports whether any of names matches.
func (p Pattern) Match(names ...string) bool {
	if p.glob == "" {
		return true
	}
	for _, n := range names {
		if ok, _ := path.Match(p.glob, n); ok {
			return true
		}
	}
	return false
}

// MatchPath matches a slash-separated name (group/project, folder/job): the
// whole name, or, for a pattern without '/', its last segment, so "api-*"
// finds team/api-gateway.
func (p Pattern) MatchPath(name string) bool {
	if p.Match(name) {
		return true
	}
	return !strings.Contains(p.glob, "/") && p.Match(path.Base(name))
}
