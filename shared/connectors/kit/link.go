package kit

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/resilience"
)

// Link is one link of an RFC 8288 Link header: its target as written
// (possibly relative) and its parameters, names lower-cased.
type Link struct {
	Target string
	Params map[string]string
}

// Rels returns the link's relation types, lower-cased (rel="next last"
// holds two).
func (l Link) Rels() []string { return strings.Fields(strings.ToLower(l.Params["rel"])) }

// ParseLinks reads every Link header value of h: comma-separated
// `<target>; name=value; name="quoted, value"` entries. A malformed entry
// ends the parse of its header value; the links before it are kept.
func ParseLinks(h http.Header) []Link {
	var out []Link
	for _, v := range h.Values("Link") {
		p := headerParser{s: v}
		for {
			p.skip(" \t,")
			if !p.consume('<') {
				break
			}
			end := strings.IndexByte(p.s[p.i:], '>')
			if end < 0 {
				break
			}
			l := Link{Target: strings.TrimSpace(p.s[p.i : p.i+end]), Params: map[string]string{}}
			p.i += end + 1
			for {
				p.skip(" \t")
				if !p.consume(';') {
					break
				}
				p.skip(" \t")
				name := strings.ToLower(p.token())
				p.skip(" \t")
				value := ""
				if p.consume('=') {
					p.skip(" \t")
					value = p.value()
				}
				if _, seen := l.Params[name]; name != "" && !seen {
					l.Params[name] = value // RFC 8288: the first rel wins
				}
			}
			out = append(out, l)
			p.skip(" \t")
			if !p.consume(',') {
				break
			}
		}
	}
	return out
}

// NextTarget returns the target of the first link whose rel holds "next",
// as written; "" when there is none.
func NextTarget(h http.Header) string {
	for _, l := range ParseLinks(h) {
		for _, rel := range l.Rels() {
			if rel == "next" {
				return l.Target
			}
		}
	}
	return ""
}

// NextLink resolves the rel="next" link against the URL of the request that
// got the answer (relative links are common). It returns nil at the last
// page. A next link to another scheme, host or port is refused with
// UPSTREAM_ERROR: following it would send the integration's credentials to
// a server the operator did not configure, and stopping quietly would cut
// the listing short.
func NextLink(h http.Header, request *url.URL) (*url.URL, error) {
	target := NextTarget(h)
	if target == "" {
		return nil, nil
	}
	ref, err := url.Parse(target)
	if err != nil {
		return nil, resilience.New(resilience.UpstreamError, "the server's next-page link is not a URL")
	}
	next := request.ResolveReference(ref)
	if !strings.EqualFold(next.Scheme, request.Scheme) || !strings.EqualFold(next.Host, request.Host) {
		return nil, resilience.New(resilience.UpstreamError,
			"the server's next-page link points to %s://%s, not to %s://%s that was asked", next.Scheme, next.Host, request.Scheme, request.Host)
	}
	return next, nil
}

// NextQuery returns only the query of the rel="next" link, nil at the last
// page: the connector sends it to its own endpoint, so whatever host or
// path the link names is never contacted (GitHub's links name
// /repositories/<id>/..., a registry behind a proxy its internal host).
func NextQuery(h http.Header) (url.Values, error) {
	target := NextTarget(h)
	if target == "" {
		return nil, nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, resilience.New(resilience.UpstreamError, "the server's next-page link is not a URL")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, resilience.New(resilience.UpstreamError, "the server's next-page link has a malformed query")
	}
	return q, nil
}
