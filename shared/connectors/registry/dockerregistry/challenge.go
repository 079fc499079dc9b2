package dockerregistry

import (
	"net/http"
	"strings"
)

// challenge is one WWW-Authenticate challenge.
type challenge struct {
	scheme string
	params map[string]string
}

// bearerChallenge returns the Bearer challenge with a realm, if any.
func bearerChallenge(h http.Header) (challenge, bool) {
	for _, ch := range parseChallenges(h.Values("WWW-Authenticate")) {
		if strings.EqualFold(ch.scheme, "bearer") && ch.params["realm"] != "" {
			return ch, true
		}
	}
	return challenge{}, false
}

// parseChallenges reads RFC 7235 challenges: `scheme k=v, k="v", scheme2 ...`.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		p := headerParser{s: v}
		for {
			p.skip(" \t,")
			scheme := p.token()
			if scheme == "" {
				break
			}
			ch := challenge{scheme: scheme, params: map[string]string{}}
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
				ch.params[strings.ToLower(name)] = p.value()
			}
			out = append(out, ch)
			if p.i == len(p.s) {
				break
			}
		}
	}
	return out
}

// headerParser walks a header value.
type headerParser struct {
	s string
	i int
}

func (p *headerParser) skip(chars string) {
	for p.i < len(p.s) && strings.IndexByte(chars, p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *headerParser) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// token reads a scheme, a parameter name or an unquoted value: everything
// up to a separator.
func (p *headerParser) token() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(" \t,=\"", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a quoted string (with backslash escapes) or a token.
func (p *headerParser) value() string {
	if !p.consume('"') {
		return p.token()
	}
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\' && p.i < len(p.s):
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
