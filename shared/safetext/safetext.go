// Package safetext refuses text the API cannot store and give back as it
// was sent, or that would show a reader something other than what is
// stored: invalid UTF-8, the replacement character, control characters and
// invisible format characters such as bidirectional overrides. One check
// for every name and description the hub keeps.
package safetext

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/apierr"
)

// Field returns an INVALID_FIELD_VALUE error naming field when s is not safe
// text, nil when it is. multiline allows line breaks and tabs (descriptions).
func Field(field, s string, multiline bool) error {
	if reason := Problem(s, multiline); reason != "" {
		return apierr.BadRequest(apierr.InvalidFieldValue, "%s %s", field, reason).With("field", field)
	}
	return nil
}

// Problem says what is wrong with s, or "" when nothing is. The reason
// never quotes s.
func Problem(s string, multiline bool) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return fmt.Sprintf("is not valid UTF-8 (at byte %d)", i)
			}
			// Decoders put U+FFFD where the sender's text was not valid
			// UTF-8 or held an unpaired surrogate: storing it would not
			// give back what was sent.
			return "contains U+FFFD, the replacement character: the text sent was not valid Unicode"
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case unicode.IsControl(r):
			return fmt.Sprintf("contains the control character U+%04X", r)
		case isBidiControl(r):
			return fmt.Sprintf("contains U+%04X, a bidirectional control: it can make text read differently from what is stored", r)
		case r == '\u2028' || r == '\u2029':
			return fmt.Sprintf("contains U+%04X, a line or paragraph separator", r)
		case unicode.Is(unicode.Cf, r) && !allowedFormat(r):
			return fmt.Sprintf("contains U+%04X, an invisible format character", r)
		}
	}
	return ""
}

// isBidiControl reports the characters that change the direction text is
// shown in (the "Trojan Source" characters and the implicit marks).
func isBidiControl(r rune) bool {
	switch {
	case r == '\u061C', r == '\u200E', r == '\u200F':
		return true
	case r >= '\u202A' && r <= '\u202E':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// allowedFormat are the format characters real text needs: the joiners
// (Persian, Indic scripts, emoji sequences) and the tag characters of
// emoji subdivision flags.
func allowedFormat(r rune) bool {
	return r == '\u200C' || r == '\u200D' || (r >= 0xE0020 && r <= 0xE007F)
}
