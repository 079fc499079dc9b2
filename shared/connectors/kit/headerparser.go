package kit

import "strings"

// headerParser walks a structured header value (Link, WWW-Authenticate).
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

// token reads up to a separator: a name or an unquoted value.
func (p *headerParser) token() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(" \t,;=\"<>", rune(p.s[p.i])) {
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
