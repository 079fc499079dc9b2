// Package sigv4fake is the request check of the hub's AWS protocol fakes
// (tests only): it verifies a Signature Version 4 Authorization header as
// AWS does and answers with the error code and message AWS gives, so each
// service's fake checks signing the same way.
package sigv4fake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Key is an access key the fake knows: its secret, and for temporary keys
// the session token and expiry.
type Key struct {
	Secret, Session string
	Expires         time.Time
}

// authHeader is the shape AWS accepts.
var authHeader = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// Verify checks r's signature for region and service: the header's shape,
// an X-Amz-Date within 5 minutes matching the scope, the scope's region and
// service, host, x-amz-date and mustSign among the signed headers, a known
// unexpired key (and its session token), and the signature over the
// canonical request and body. It returns the key id, or AWS's error code
// and message.
func Verify(r *http.Request, body []byte, region, service string, lookup func(id string) (Key, bool), mustSign ...string) (keyID, code, msg string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	m := authHeader.FindStringSubmatch(auth)
	if m == nil {
		return "", "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters"
	}
	keyID, day, scopeRegion, svc, signed, sig := m[1], m[2], m[3], m[4], m[5], m[6]
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, day) {
		return "", "IncompleteSignatureException", "X-Amz-Date is missing or does not match the credential scope"
	}
	if d := time.Since(at); d > 5*time.Minute || d < -5*time.Minute {
		return "", "InvalidSignatureException", "Signature expired"
	}
	if scopeRegion != region || svc != service {
		return "", "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region and service (%s, %s)", region, service)
	}
	for _, h := range append([]string{"host", "x-amz-date"}, mustSign...) {
		if !strings.Contains(";"+signed+";", ";"+h+";") {
			return "", "InvalidSignatureException", h + " must be signed"
		}
	}
	key, ok := lookup(keyID)
	if !ok || (!key.Expires.IsZero() && time.Now().After(key.Expires)) {
		return "", "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	if key.Session != "" && r.Header.Get("X-Amz-Security-Token") != key.Session {
		return "", "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	want := sign(key.Secret, day, region, service, amzDate, canonicalRequest(r, body, signed))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "", "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
	}
	return keyID, "", ""
}

// canonicalRequest builds SigV4's canonical request from the signed headers.
func canonicalRequest(r *http.Request, body []byte, signed string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path + "\n")
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		vs := q[k]
		sort.Strings(vs)
		for _, v := range vs {
			pairs = append(pairs, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	b.WriteString(strings.Join(pairs, "&") + "\n")
	for _, h := range strings.Split(signed, ";") {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = fmt.Sprint(r.ContentLength)
		default:
			v = strings.Join(r.Header.Values(h), ",")
		}
		b.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	b.WriteString("\n" + signed + "\n")
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	b.WriteString(payload)
	return b.String()
}

func sign(secret, day, region, service, amzDate, canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + day + "/" + region + "/" + service + "/aws4_request\n" + hex.EncodeToString(h[:])
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
