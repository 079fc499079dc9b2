package credentials

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/stella-ops/inthub/shared/resilience"
)

// Redacted replaces every secret a Scrubber finds.
const Redacted = "[redacted]"

const (
	// ScrubMinLen is the shortest value a Scrubber removes. A one- or
	// two-character secret protects nothing (it is guessed at once), while
	// removing every "a" or "ab" from a message would make it unreadable;
	// such a value is still removed inside the longer forms (user:pass).
	ScrubMinLen = 3
	// DefaultScrubValues is how many recent values a Scrubber keeps.
	DefaultScrubValues = 64
	// truncatedMin is the shortest tail of a secret form removed before a
	// truncation mark: shorter tails are too common in ordinary text.
	truncatedMin = 4
)

// truncationMarks end a text cut short (our snippets use "…", many
// servers "...").
var truncationMarks = []string{"…", "..."}

// notSecretAlone are secret keys whose value is an identifier rather than a
// secret: scrubbing a user name everywhere would blank out ordinary text
// (a repository owner, an email sender). They are scrubbed only inside the
// combinations that carry the password (user:pass and its encodings).
var notSecretAlone = map[string]bool{
	"username": true, "user": true,
	// An AWS access key id names the key; the secret key is the secret.
	"accessKeyId": true, "access_key_id": true, "aws_access_key_id": true, "accessKey": true,
	// The identifying fields of a Google service-account key.
	"type": true, "project_id": true, "client_email": true, "client_id": true,
	"auth_uri": true, "token_uri": true, "auth_provider_x509_cert_url": true,
	"client_x509_cert_url": true, "universe_domain": true,
}

// Scrubber removes known secret values from texts: each value it was told
// of and the forms a server may echo it in (base64, URL and JSON escaping,
// user:pass and the HTTP Basic and SMTP AUTH encodings, a value cut by a
// truncation). It keeps the DefaultScrubValues most recent values and is
// safe for concurrent use; the zero value is not usable, call NewScrubber.
type Scrubber struct {
	mu      sync.RWMutex
	max     int
	entries []scrubEntry // oldest first
	forms   []string     // every entry's forms, longest first, unique
}

// scrubEntry is one value (or user+password pair) and its forms.
type scrubEntry struct {
	key   string
	forms []string
}

// NewScrubber returns a scrubber keeping at most max values (<= 0 means
// DefaultScrubValues).
func NewScrubber(max int) *Scrubber {
	if max <= 0 {
		max = DefaultScrubValues
	}
	return &Scrubber{max: max}
}

// Add records values to remove from now on; values shorter than
// ScrubMinLen are ignored.
func (s *Scrubber) Add(values ...string) {
	for _, v := range values {
		if len(v) < ScrubMinLen {
			continue
		}
		s.add("v\x00"+v, func() []string { return valueForms(v) })
	}
}

// AddSecret records every value of a resolved secret except the
// identifiers (user names), and, when it holds basic credentials, the
// user:password combinations in their wire encodings.
func (s *Scrubber) AddSecret(sec Secret) {
	for k, v := range sec {
		if !notSecretAlone[k] {
			s.Add(v)
		}
	}
	if user, pass, err := sec.Basic(); err == nil {
		s.AddPair(user, pass)
	}
}

// AddPair records a user name and password: the password alone and the
// forms that combine both ("user:pass" and its base64, HTTP Basic; SMTP
// AUTH PLAIN's base64 of "\x00user\x00pass" and "user\x00user\x00pass";
// LOGIN's base64 of each).
func (s *Scrubber) AddPair(user, pass string) {
	s.Add(pass)
	if user == "" || pass == "" {
		return
	}
	s.add("p\x00"+user+"\x00"+pass, func() []string {
		forms := valueForms(user + ":" + pass)
		for _, blob := range []string{"\x00" + user + "\x00" + pass, user + "\x00" + user + "\x00" + pass} {
			forms = append(forms, base64Forms(blob)...)
		}
		if len(user) >= ScrubMinLen {
			forms = append(forms, base64Forms(user)...)
		}
		return forms
	})
}

// add records an entry under key. A known one is moved to the newest place
// only when it is in the older half, so that values sent with every request
// do not rebuild the forms every time yet are never the next to go.
func (s *Scrubber) add(key string, forms func() []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.entries, func(e scrubEntry) bool { return e.key == key }); i >= 0 {
		if i >= len(s.entries)/2 {
			return
		}
		s.entries = slices.Delete(s.entries, i, i+1)
	}
	s.entries = append(s.entries, scrubEntry{key: key, forms: forms()})
	if len(s.entries) > s.max {
		s.entries = slices.Delete(s.entries, 0, len(s.entries)-s.max)
	}
	s.forms = s.forms[:0:0]
	seen := map[string]bool{}
	for _, e := range s.entries {
		for _, f := range e.forms {
			if len(f) >= ScrubMinLen && !seen[f] {
				seen[f] = true
				s.forms = append(s.forms, f)
			}
		}
	}
	// Longest first: the truncation rule then prefers the longest tail.
	slices.SortStableFunc(s.forms, func(a, b string) int { return len(b) - len(a) })
}

// valueForms are the spellings of v a server may echo: raw, with its
// whitespace collapsed (as our error snippets do), base64, URL-escaped,
// JSON-escaped and Go-quoted (as snippets are quoted).
func valueForms(v string) []string {
	spellings := []string{v}
	if c := strings.Join(strings.Fields(v), " "); c != v && c != "" {
		spellings = append(spellings, c)
	}
	forms := slices.Clone(spellings)
	for _, f := range spellings {
		j := jsonEscape(f, true)
		forms = append(forms, j, jsonEscape(f, false), goQuote(f), goQuote(j))
	}
	forms = append(forms, base64Forms(v)...)
	return append(forms, url.QueryEscape(v), url.PathEscape(v))
}

// base64Forms are v in standard and URL base64, padded and raw.
func base64Forms(v string) []string {
	b := []byte(v)
	return []string{
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
	}
}

// jsonEscape is v as inside a JSON string, with or without HTML escaping.
func jsonEscape(v string, html bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	if enc.Encode(v) != nil {
		return v
	}
	out := strings.TrimSuffix(buf.String(), "\n")
	return out[1 : len(out)-1]
}

// goQuote is v as inside a strconv.Quote string.
func goQuote(v string) string {
	q := strconv.Quote(v)
	return q[1 : len(q)-1]
}

// Len is the number of values (and pairs) the scrubber holds.
func (s *Scrubber) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.entries)
}

// String returns text with every known secret form replaced by Redacted,
// and the tail of a form cut by a truncation mark ("…", "...") too.
// Overlapping finds are merged, so a shorter secret never half-replaces a
// longer one; a nil Scrubber returns text unchanged.
func (s *Scrubber) String(text string) string {
	if s == nil || len(text) < ScrubMinLen {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.forms) == 0 {
		return text
	}
	// An earlier redaction (the HTTP snippet's patterns) is left alone: a
	// short secret spelled inside "[redacted]" is not in the text.
	done := occurrences(text, Redacted)
	var spans [][2]int
	for _, f := range s.forms {
		for _, sp := range occurrences(text, f) {
			if !slices.ContainsFunc(done, func(d [2]int) bool { return d[0] <= sp[0] && sp[1] <= d[1] }) {
				spans = append(spans, sp)
			}
		}
	}
	spans = append(spans, s.truncated(text)...)
	if len(spans) == 0 {
		return text
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var out strings.Builder
	last := 0
	for i := 0; i < len(spans); {
		start, end := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] <= end; i++ {
			end = max(end, spans[i][1])
		}
		out.WriteString(text[last:start])
		out.WriteString(Redacted)
		last = end
	}
	out.WriteString(text[last:])
	return out.String()
}

// occurrences are the spans of every (possibly overlapping) f in text.
func occurrences(text, f string) [][2]int {
	var spans [][2]int
	for at := 0; at <= len(text)-len(f); {
		i := strings.Index(text[at:], f)
		if i < 0 {
			break
		}
		spans = append(spans, [2]int{at + i, at + i + len(f)})
		at += i + 1
	}
	return spans
}

// truncated finds, before each truncation mark, the longest tail of the
// text that is a prefix (of truncatedMin bytes or more) of a secret form.
func (s *Scrubber) truncated(text string) [][2]int {
	var spans [][2]int
	for _, mark := range truncationMarks {
		for at := 0; ; {
			i := strings.Index(text[at:], mark)
			if i < 0 {
				break
			}
			end := at + i
			at = end + len(mark)
			for _, f := range s.forms {
				if k := tailPrefix(text[:end], f); k > 0 {
					spans = append(spans, [2]int{end - k, end})
					break
				}
			}
		}
	}
	return spans
}

// tailPrefix is the length of the longest proper prefix of form (at least
// truncatedMin bytes) that text ends with, or 0.
func tailPrefix(text, form string) int {
	for k := min(len(form)-1, len(text)); k >= truncatedMin; k-- {
		if strings.HasSuffix(text, form[:k]) {
			return k
		}
	}
	return 0
}

// Error returns err with its text scrubbed. An error without a known secret
// is returned as is; otherwise the result keeps err's code and Retry-After
// and answers errors.Is as err does, but no longer unwraps to the
// unscrubbed chain. A nil Scrubber returns err unchanged.
func (s *Scrubber) Error(err error) error {
	if err == nil || s == nil {
		return err
	}
	msg := resilience.MessageOf(err)
	clean := s.String(msg)
	if clean == msg {
		return err
	}
	return &scrubbedError{
		coded: &resilience.Error{Code: resilience.CodeOf(err), Message: clean, RetryAfter: resilience.RetryAfterOf(err)},
		orig:  err,
	}
}

// scrubbedError is a scrubbed coded error that keeps the original only to
// answer errors.Is (context.DeadlineExceeded and other sentinels).
type scrubbedError struct {
	coded *resilience.Error
	orig  error
}

func (e *scrubbedError) Error() string        { return e.coded.Error() }
func (e *scrubbedError) Unwrap() error        { return e.coded }
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.orig, target) }
