// Package puback reads a JetStream publish acknowledgement without
// encoding/json.
//
// Every synchronous publish of the hub waits for one of these, and
// encoding/json spent more on its validation pass and reflection over a
// 40-byte answer than the bus spent on the rest of reading it (about 2 % of a
// bus round trip's CPU and of a create's). The server writes its acks in one
// fixed shape — {"stream":"NAME","seq":N} with "domain" and "duplicate" when
// they apply — so Parse reads that shape and says when it meets anything
// else (an error answer, an escape, an unknown member), for the caller to
// fall back to encoding/json. Where Parse answers, it answers what
// encoding/json would: FuzzParse checks it against json.Unmarshal.
package puback

// Ack is a publish acknowledgement's members, as jetstream.PubAck holds them.
type Ack struct {
	Stream    string
	Sequence  uint64
	Duplicate bool
	Domain    string
	Value     string
}

// Parse reads data as an acknowledgement in the server's shape. ok is false
// when data is anything else — not an object, an unknown or repeated member,
// a string with an escape or a control character, a number with a sign, a
// fraction, an exponent or too many digits, a null — and then nothing is
// said about it: the caller decodes it with encoding/json.
func Parse(data []byte) (a Ack, ok bool) {
	p := parser{b: data}
	p.space()
	if !p.byte('{') {
		return Ack{}, false
	}
	var seen uint8
	p.space()
	for !p.byte('}') {
		name, ok := p.str()
		if !ok {
			return Ack{}, false
		}
		p.space()
		if !p.byte(':') {
			return Ack{}, false
		}
		p.space()
		var bit uint8
		switch name {
		case "stream":
			bit = 1
			a.Stream, ok = p.str()
		case "seq":
			bit = 2
			a.Sequence, ok = p.uint()
		case "duplicate":
			bit = 4
			a.Duplicate, ok = p.bool()
		case "domain":
			bit = 8
			a.Domain, ok = p.str()
		case "val":
			bit = 16
			a.Value, ok = p.str()
		default:
			// "error", "type" or anything new: encoding/json's business.
			return Ack{}, false
		}
		if !ok || seen&bit != 0 {
			return Ack{}, false
		}
		seen |= bit
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			continue
		}
		if !p.byte(',') {
			return Ack{}, false
		}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			return Ack{}, false // a trailing comma
		}
	}
	p.space()
	if p.i != len(p.b) {
		return Ack{}, false
	}
	return a, true
}

// parser walks b from i.
type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes: names, stream
// names and domains are that. Anything else is left to encoding/json (which
// also replaces invalid UTF-8, a rewrite not worth repeating here).
func (p *parser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
		p.i++
	}
	return "", false
}

// uint reads a non-negative integer of at most 19 digits (below 10^19, so
// it fits a uint64 without overflow checks) without a leading zero.
func (p *parser) uint() (uint64, bool) {
	start := p.i
	var n uint64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		n = n*10 + uint64(p.b[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 19 || (digits > 1 && p.b[start] == '0') {
		return 0, false
	}
	// A fraction or an exponent would make it a float: encoding/json refuses
	// that for a uint64, so leave the refusal to it.
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return 0, false
	}
	return n, true
}

func (p *parser) bool() (bool, bool) {
	rest := p.b[p.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		p.i += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		p.i += 5
		return false, true
	}
	return false, false
}
