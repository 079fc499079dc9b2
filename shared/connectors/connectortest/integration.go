package connectortest

import (
	"maps"
	"net/url"
)

// Credentialed is the Integration hook of a provider whose conformance
// integrations differ only by their secret: config with its "url" set to
// the fake's base, and the secret stored under name (SecretRef(name)):
// good, or bad for the cases that want a wrong credential.
func Credentialed(name string, config map[string]any, good, bad string) func(base *url.URL, wrong bool) Integration {
	return func(base *url.URL, wrong bool) Integration {
		cfg := map[string]any{}
		maps.Copy(cfg, config)
		cfg["url"] = base.String()
		secret := good
		if wrong {
			secret = bad
		}
		return Integration{Config: cfg, CredentialRef: SecretRef(name), Secrets: map[string]string{name: secret}}
	}
}

// TokenSecret is a token credential as a secret store returns it
// ({"token": v}).
func TokenSecret(v string) string { return `{"token":"` + v + `"}` }
