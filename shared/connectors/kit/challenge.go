package kit

import (
	"net/http"
	"strings"
)

// Challenge is one WWW-Authenticate challenge (RFC 7235): a scheme and its
// parameters, names lower-cased.
type Challenge struct {
	Scheme string
	Params map[string]string
}

// BearerChallenge returns the Bearer challenge that names a realm, if any
// (the registry token flow, OAuth 2 resource servers).
func BearerChallenge(h http.Header) (Challenge, bool) {
	for _, ch := range ParseChallenges(h.Values("WWW-Authenticate")) {
		if strings.EqualFold(ch.Scheme, "bearer") && ch.Params["realm"] != "" {
			return ch, true
		}
	}
	return Challenge{}, false
}

// ParseChallenges reads challenges: `scheme k=v, k="v", scheme2 ...`.
func ParseChallenges(values []string) []Challenge {
	var out []Challenge
	for _, v := range values {
		p := headerParser{s: v}
		for {
			p.skip(" \t,")
			scheme := p.token()
			if scheme == "" {
				break
			}
			ch := Challenge{Scheme: scheme, Params: map[string]string{}}
			for {
				p.skip(" \t,")
				mark := p.i
				name := p.token()
				p.skip(" \t")
				if name == "" || !p.consume('=') {
					p.i = mark // the next challenge's scheme
					break
				}
				p.skip(" \t")
				ch.Params[strings.ToLower(name)] = p.value()
			}
			out = append(out, ch)
			if p.i == len(p.s) {
				break
			}
		}
	}
	return out
}
