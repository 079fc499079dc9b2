// Package labels holds the label syntax of integrations and the
// equality-based label selector (Kubernetes') that the manager's list query
// and the notifier's rules share.
package labels

import (
	"regexp"
	"strings"

	"github.com/stella-ops/inthub/shared/apierr"
)

// MaxSelectorLen is the longest selector Parse accepts.
const MaxSelectorLen = 1024

var (
	keyRe   = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	valueRe = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
)

// ValidKey reports whether k has the syntax of a label key: an optional
// dns-name/ prefix and a name of at most 63 letters, digits, - _ and .
// It does not bound the prefix's length; callers storing labels do.
func ValidKey(k string) bool { return keyRe.MatchString(k) }

// ValidValue reports whether v is a label value: empty, or at most 63
// letters, digits, - _ and . that start and end alphanumeric.
func ValidValue(v string) bool { return valueRe.MatchString(v) }

// Operators of a requirement.
const (
	opEqual     = "="
	opNotEqual  = "!="
	opExists    = "exists"
	opNotExists = "!exists"
)

// requirement is one term of a label selector.
type requirement struct {
	key, value string
	op         string
}

// Selector is a parsed equality-based label selector:
// "env=prod,tier!=db,team,!legacy". All terms must hold; the zero Selector
// matches everything.
type Selector []requirement

// Parse parses s; an empty or blank s matches everything. A malformed s
// fails with an *apierr.Error of code apierr.InvalidLabelSelector.
func Parse(s string) (Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if len(s) > MaxSelectorLen {
		return nil, apierr.BadRequest(apierr.InvalidLabelSelector, "label selector is longer than %d characters", MaxSelectorLen)
	}
	var out Selector
	for _, term := range strings.Split(s, ",") {
		term = strings.TrimSpace(term)
		r := parseTerm(term)
		if r.key == "" || !ValidKey(r.key) || !ValidValue(r.value) {
			return nil, apierr.BadRequest(apierr.InvalidLabelSelector, "label selector term %q is not key, !key, key=value or key!=value", truncate(term, 80))
		}
		out = append(out, r)
	}
	return out, nil
}

// parseTerm splits one trimmed term; Parse validates the result.
func parseTerm(term string) requirement {
	switch {
	case strings.Contains(term, "!="):
		k, v, _ := strings.Cut(term, "!=")
		return requirement{strings.TrimSpace(k), strings.TrimSpace(v), opNotEqual}
	case strings.Contains(term, "=="):
		k, v, _ := strings.Cut(term, "==")
		return requirement{strings.TrimSpace(k), strings.TrimSpace(v), opEqual}
	case strings.Contains(term, "="):
		k, v, _ := strings.Cut(term, "=")
		return requirement{strings.TrimSpace(k), strings.TrimSpace(v), opEqual}
	case strings.HasPrefix(term, "!"):
		return requirement{strings.TrimSpace(term[1:]), "", opNotExists}
	default:
		return requirement{term, "", opExists}
	}
}

// Matches reports whether set satisfies every term of s.
func (s Selector) Matches(set map[string]string) bool {
	for _, r := range s {
		v, ok := set[r.key]
		switch r.op {
		case opEqual:
			if !ok || v != r.value {
				return false
			}
		case opNotEqual:
			if ok && v == r.value {
				return false
			}
		case opExists:
			if !ok {
				return false
			}
		case opNotExists:
			if ok {
				return false
			}
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
