// Package githubapi holds the rules of GitHub's REST API that every GitHub
// provider shares (github-actions, the github SCM provider): how a token is
// read from the integration's credential and how an answer is classified,
// GitHub's secondary rate limit included.
package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// APIVersion is the REST API version every request asks for
// (X-GitHub-Api-Version).
const APIVersion = "2022-11-28"

// SecondaryWait is GitHub's rule for a secondary rate limit that names no
// wait: "wait for at least one minute before retrying".
const SecondaryWait = time.Minute

// Check is httpx.CheckResponse (through hc, whose clock reads the reset
// headers) plus GitHub's secondary rate limit without headers: a 403 or 429
// whose message says so waits SecondaryWait. An exhausted primary limit
// (403 or 429 with X-RateLimit-Remaining: 0) waits until X-RateLimit-Reset,
// a secondary one with Retry-After as long as it says; both are
// RATE_LIMITED.
func Check(hc kit.Client, resp *http.Response) error {
	err := hc.Check(resp)
	if err == nil {
		return nil
	}
	var coded *resilience.Error
	if !errors.As(err, &coded) || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests) || coded.RetryAfter > 0 {
		return err
	}
	var answer struct {
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&answer)
	if m := strings.ToLower(answer.Message); strings.Contains(m, "secondary rate limit") || strings.Contains(m, "abuse detection") {
		return &resilience.Error{Code: resilience.RateLimited, RetryAfter: SecondaryWait,
			Message: coded.Message + fmt.Sprintf(" (secondary rate limit: retry after %s)", SecondaryWait)}
	}
	return err
}

// Token resolves the credential reference for one call as the
// Authorization header (Bearer: a classic or fine-grained personal access
// token, an OAuth token, a GitHub App installation token); the zero Auth
// when the integration has none.
func Token(ctx context.Context, src connectors.CredentialSource, ref string) (kit.Auth, error) {
	auth, err := kit.Credential(ctx, src, ref, "the GitHub credentials", []string{connectors.CredToken})
	if err == nil && strings.ContainsAny(strings.TrimPrefix(auth.Value, "Bearer "), " \t") {
		// A PAT or app token never holds a space; one there is a paste error.
		return kit.Auth{}, resilience.New(resilience.InvalidConfig, "the GitHub token holds whitespace")
	}
	return auth, err
}
