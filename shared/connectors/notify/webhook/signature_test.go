package webhook

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_760_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `{"id":"d-1","type":"inthub.test","timestamp":"2025-10-09T08:53:20Z"}`
	good := Sign("s3cr3t", ts, []byte(body))
	old := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	future := strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10)
	tests := []struct {
		name                     string
		secret, ts, body, header string
		tolerance                time.Duration
		want                     error
	}{
		{"good", "s3cr3t", ts, body, good, 0, nil},
		{"good, spaces around", "s3cr3t", " " + ts, body, " " + good + " ", 0, nil},
		{"good at the edge of the tolerance", "s3cr3t", old, body, Sign("s3cr3t", old, []byte(body)), 6 * time.Minute, nil},
		{"tampered body", "s3cr3t", ts, strings.Replace(body, "d-1", "d-2", 1), good, 0, ErrSignatureMismatch},
		{"wrong secret", "other", ts, body, good, 0, ErrSignatureMismatch},
		{"timestamp changed", "s3cr3t", strconv.FormatInt(now.Unix()+1, 10), body, good, 0, ErrSignatureMismatch},
		{"stale timestamp", "s3cr3t", old, body, Sign("s3cr3t", old, []byte(body)), 0, ErrStaleTimestamp},
		{"timestamp in the future", "s3cr3t", future, body, Sign("s3cr3t", future, []byte(body)), 0, ErrStaleTimestamp},
		{"missing header", "s3cr3t", ts, body, "", 0, ErrNoSignature},
		{"no sha256= prefix", "s3cr3t", ts, body, strings.TrimPrefix(good, "sha256="), 0, ErrMalformedSignature},
		{"other algorithm", "s3cr3t", ts, body, "sha1=" + strings.TrimPrefix(good, "sha256="), 0, ErrMalformedSignature},
		{"not hex", "s3cr3t", ts, body, "sha256=" + strings.Repeat("zz", 32), 0, ErrMalformedSignature},
		{"truncated", "s3cr3t", ts, body, good[:len(good)-2], 0, ErrMalformedSignature},
		{"timestamp not a number", "s3cr3t", "yesterday", body, good, 0, ErrBadTimestamp},
		{"missing timestamp", "s3cr3t", "", body, good, 0, ErrBadTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := VerifySignature(tc.secret, tc.ts, tc.body, tc.header, now, tc.tolerance)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("VerifySignature = %v, want %v", err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), tc.secret) || strings.Contains(err.Error(), strings.TrimPrefix(good, "sha256="))) {
				t.Errorf("error repeats the secret or the signature: %v", err)
			}
		})
	}
}

func TestSignIsHexHMACOfTimestampDotBody(t *testing.T) {
	t.Parallel()
	// Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
	const want = "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
	if got := Sign("key", "1700000000", []byte("{}")); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}
