package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	// HeaderTimestamp is the signing time in Unix seconds; it is part of
	// the signed text, so a receiver can refuse replays of old deliveries.
	HeaderTimestamp = "X-Inthub-Timestamp"
	// HeaderDelivery is the delivery's unique id, for receivers to drop
	// duplicates; Notify returns it as the provider message id.
	HeaderDelivery = "X-Inthub-Delivery"
)

// DefaultTolerance is how far a timestamp may be from the receiver's clock
// when VerifySignature is given no tolerance.
const DefaultTolerance = 5 * time.Minute

const signaturePrefix = "sha256="

// Why VerifySignature refuses a delivery; compare with errors.Is.
var (
	ErrNoSignature        = errors.New("webhook: no signature")
	ErrMalformedSignature = errors.New("webhook: malformed signature (want sha256=<64 hex digits>)")
	ErrSignatureMismatch  = errors.New("webhook: signature does not match")
	ErrBadTimestamp       = errors.New("webhook: timestamp is not Unix seconds")
	ErrStaleTimestamp     = errors.New("webhook: timestamp outside the tolerance")
)

// Sign returns the signature header value of body sent at timestamp (Unix
// seconds, as in HeaderTimestamp): "sha256=" + hex(HMAC-SHA256(secret,
// "<timestamp>.<body>")).
func Sign(secret, timestamp string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks a delivery as a receiver gets it: header is the
// signature header's value, timestamp HeaderTimestamp's, body the raw
// request body. The timestamp must be within tolerance of now
// (DefaultTolerance when tolerance <= 0). The comparison takes constant
// time. The error wraps one of the Err* values and never repeats a
// signature or the secret.
func VerifySignature(secret, timestamp, body, header string, now time.Time, tolerance time.Duration) error {
	if header == "" {
		return ErrNoSignature
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), signaturePrefix)
	if !ok {
		return ErrMalformedSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return ErrMalformedSignature
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: %s from now, tolerance %s", ErrStaleTimestamp, skew.Round(time.Second), tolerance)
	}
	if !hmac.Equal(got, mac(secret, strings.TrimSpace(timestamp), []byte(body))) {
		return ErrSignatureMismatch
	}
	return nil
}
