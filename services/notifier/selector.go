package notifier

import (
	"regexp"
	"strings"

	"github.com/stella-ops/inthub/shared/apierr"
)

// The manager's label syntax (Kubernetes'). Services share no code but
// shared/, so the selector is copied here rather than imported.
var (
	labelKeyRe   = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	labelValueRe = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
)

// requirement is one term of a label selector.
type requirement struct {
	key, value string
	op         string // "=", "!=", "exists", "!exists"
}

// selector is a parsed equality-based label selector:
// "env=prod,tier!=db,team,!legacy". All terms must hold.
type selector []requirement

// parseSelector parses s; empty matches everything.
func parseSelector(s string) (selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if len(s) > 1024 {
		return nil, apierr.BadRequest(apierr.InvalidLabelSelector, "label selector is longer than 1024 characters").With("field", "match.labelSelector")
	}
	var out selector
	for _, term := range strings.Split(s, ",") {
		term = strings.TrimSpace(term)
		var r requirement
		switch {
		case strings.Contains(term, "!="):
			k, v, _ := strings.Cut(term, "!=")
			r = requirement{strings.TrimSpace(k), strings.TrimSpace(v), "!="}
		case strings.Contains(term, "=="):
			k, v, _ := strings.Cut(term, "==")
			r = requirement{strings.TrimSpace(k), strings.TrimSpace(v), "="}
		case strings.Contains(term, "="):
			k, v, _ := strings.Cut(term, "=")
			r = requirement{strings.TrimSpace(k), strings.TrimSpace(v), "="}
		case strings.HasPrefix(term, "!"):
			r = requirement{strings.TrimSpace(term[1:]), "", "!exists"}
		default:
			r = requirement{term, "", "exists"}
		}
		if r.key == "" || !labelKeyRe.MatchString(r.key) || !labelValueRe.MatchString(r.value) {
			return nil, apierr.BadRequest(apierr.InvalidLabelSelector, "label selector term %q is not key, !key, key=value or key!=value", truncate(term, 80)).
				With("field", "match.labelSelector")
		}
		out = append(out, r)
	}
	return out, nil
}

// matches reports whether labels satisfy every term.
func (s selector) matches(labels map[string]string) bool {
	for _, r := range s {
		v, ok := labels[r.key]
		switch r.op {
		case "=":
			if !ok || v != r.value {
				return false
			}
		case "!=":
			if ok && v == r.value {
				return false
			}
		case "exists":
			if !ok {
				return false
			}
		case "!exists":
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
