// Package httpx is the one outbound HTTP client of the Integration Hub.
//
// Every connector talks to the outside world through a Client so that the
// same rules hold everywhere: a per-integration timeout and TLS settings, a
// guard that refuses every address IANA's special-purpose registries do not
// mark globally reachable (loopback, link-local cloud metadata, private,
// documentation, ...), multicast and this machine's own addresses unless the
// operator allows them (NewDialer applies it to other protocols), error codes from
// shared/resilience, Retry-After parsing, OpenTelemetry spans and optional
// logs and metrics that never carry a credential.
//
// The guard judges the address a connection is actually opened to (in the
// dialer), not the name in the URL, so DNS rebinding and redirects cannot
// get around it. For that reason the client ignores HTTP(S)_PROXY: a proxy
// would open the connection on our behalf, out of the guard's sight.
package httpx
