package httpx

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	snippetRead  = 1024 // bytes of an error body looked at
	snippetRunes = 200  // runes of it kept in a message
)

var (
	htmlTag = regexp.MustCompile(`<[^>]*>`)
	// A credential echoed back under a telling name: keep the name only.
	namedSecret = regexp.MustCompile(`(?i)\b((?:(?:access|refresh|id|oauth)?[_-]?token|api[_-]?key|apikey|password|passwd|` +
		`secret|client[_-]?secret|authorization|signature|sig|cookie|session(?:[_-]?id)?|credentials?|private[_-]?key)` +
		`"?\s*[:=]\s*"?)[^"'&,\s}]+`)
	// An Authorization value in the clear: keep the scheme only.
	schemeSecret = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
	// Long runs of letters and digits together look like keys, JWTs, hashes.
	opaqueRun = regexp.MustCompile(`[A-Za-z0-9_+=.-]{24,}`)
)

// replayBody gives the caller the whole body back after we peeked at it.
type replayBody struct {
	io.Reader
	io.Closer
}

// bodySnippet peeks at a textual error body and returns a short, sanitized
// excerpt (scrub, when not nil, runs first); the response body is left
// readable from its start.
func bodySnippet(resp *http.Response, scrub func(string) string) string {
	if resp.Body == nil || resp.Body == http.NoBody || !textual(resp.Header.Get("Content-Type")) {
		return ""
	}
	buf := make([]byte, snippetRead)
	n, _ := io.ReadFull(resp.Body, buf)
	buf = buf[:n]
	resp.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(buf), resp.Body), Closer: resp.Body}
	return sanitize(buf, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html"), scrub)
}

// textual reports whether a Content-Type is worth quoting in a message.
func textual(contentType string) bool {
	if contentType == "" {
		return true // sanitize drops it if it is not text after all
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/xml" ||
		strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}

// sanitize makes body bytes fit for an error message: text only, one line,
// credentials redacted (before cutting, so half a token never shows), short.
// scrub, the caller's value-based redaction, runs before the patterns.
func sanitize(b []byte, html bool, scrub func(string) string) string {
	if len(b) == 0 {
		return ""
	}
	// The read may have cut the last rune in two.
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	if !utf8.Valid(b) {
		return ""
	}
	s := string(b)
	if scrub != nil {
		s = scrub(s)
	}
	if html {
		s = htmlTag.ReplaceAllString(s, " ")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	s = schemeSecret.ReplaceAllString(s, "${1} [redacted]") // before namedSecret takes "Bearer" for the value
	s = namedSecret.ReplaceAllString(s, "${1}[redacted]")
	s = opaqueRun.ReplaceAllStringFunc(s, func(run string) string {
		if strings.ContainsFunc(run, unicode.IsDigit) && strings.ContainsFunc(run, unicode.IsLetter) {
			return "[redacted]"
		}
		return run
	})
	if utf8.RuneCountInString(s) > snippetRunes {
		s = string([]rune(s)[:snippetRunes]) + "…"
	}
	return s
}
