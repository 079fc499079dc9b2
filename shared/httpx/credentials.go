package httpx

import (
	"net/http"
	"strings"
)

// credentialWords mark a header or query parameter whose value is a
// credential (Authorization, Proxy-Authorization, X-Vault-Token, api_key,
// X-Amz-Security-Token, Cookie, X-Hub-Signature, ...). A false positive only
// means a harmless value is also scrubbed from echoed texts.
var credentialWords = []string{"token", "key", "secret", "auth", "signature", "session", "cookie"}

// credentialName reports whether a header or parameter name carries a
// credential.
func credentialName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// reportCredentials tells report every credential req carries: credential
// header values (and the part after an auth scheme, "Bearer <token>"),
// credential query values, and the path when it is hidden (a webhook URL
// whose path is the secret).
func reportCredentials(req *http.Request, hidePath bool, report func(string)) {
	for name, values := range req.Header {
		if !credentialName(name) {
			continue
		}
		for _, v := range values {
			report(v)
			if _, rest, ok := strings.Cut(v, " "); ok {
				report(strings.TrimSpace(rest))
			}
		}
	}
	for name, values := range req.URL.Query() {
		if credentialName(name) {
			for _, v := range values {
				report(v)
			}
		}
	}
	if hidePath {
		report(req.URL.Path)
		report(req.URL.EscapedPath())
	}
}
