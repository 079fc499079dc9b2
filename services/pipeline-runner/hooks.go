package pipelinerunner

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/pipelineruns"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Signature headers of the providers.
const (
	headerGitLabToken = "X-Gitlab-Token"
	headerGitHubSig   = "X-Hub-Signature-256"
	headerSignature   = "Signature"
	headerDate        = "Date"
	headerDigest      = "Digest"
	headerCircleCISig = "Circleci-Signature"
)

// droneSkew is how far a Drone webhook's signed Date may be from now: a
// signature is replayable, the window bounds for how long.
const droneSkew = 5 * time.Minute

// errBadSignature: a webhook without its provider's signature, or with one
// the secret does not make.
var errBadSignature = errors.New("signature missing or wrong")

// verifiers check a webhook's signature, by provider: each compares in
// constant time.
var verifiers = map[connectors.WebhookScheme]func(secret string, headers map[string]string, body []byte) error{
	// GitLab sends the project hook's secret token as it is.
	connectors.WebhookGitLabToken: func(secret string, headers map[string]string, _ []byte) error {
		if got := headers[headerGitLabToken]; got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			return errBadSignature
		}
		return nil
	},
	// GitHub signs the body: sha256=<hex HMAC-SHA256(secret, body)>.
	connectors.WebhookGitHubHMAC: func(secret string, headers map[string]string, body []byte) error {
		got, ok := strings.CutPrefix(headers[headerGitHubSig], "sha256=")
		if !ok {
			return errBadSignature
		}
		if !hmac.Equal([]byte(got), []byte(hmacHex(secret, body))) {
			return errBadSignature
		}
		return nil
	},
	// Drone signs its global webhooks as 99designs/httpsignatures-go does
	// (draft-cavage HTTP Signatures): Signature: keyId="…",
	// algorithm="hmac-sha256",signature="<base64>",headers="date digest",
	// the HMAC-SHA256 of "date: <Date>\ndigest: <Digest>" keyed with the
	// secret; Digest is SHA-256=<base64 SHA-256 of the body>.
	connectors.WebhookDroneSignature: verifyDrone,
	// CircleCI signs the body: v1=<hex HMAC-SHA256(secret, body)>, in a
	// comma-separated list that may one day hold other versions too.
	connectors.WebhookCircleCIHMAC: func(secret string, headers map[string]string, body []byte) error {
		want := []byte(hmacHex(secret, body))
		ok := false
		for _, part := range strings.Split(headers[headerCircleCISig], ",") {
			if got, v1 := strings.CutPrefix(strings.TrimSpace(part), "v1="); v1 && hmac.Equal([]byte(got), want) {
				ok = true
			}
		}
		if !ok {
			return errBadSignature
		}
		return nil
	},
}

// verifyDrone checks a Drone webhook: the signature over the headers it
// lists (date and digest both required, nothing else: the ingress relays
// no other), the digest against the body, the date within droneSkew.
func verifyDrone(secret string, headers map[string]string, body []byte) error {
	params := httpSignatureParams(headers[headerSignature])
	signed := strings.Fields(strings.ToLower(params["headers"]))
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil || len(sig) != sha256.Size || params["algorithm"] != "hmac-sha256" ||
		!slices.Contains(signed, "date") || !slices.Contains(signed, "digest") {
		return errBadSignature
	}
	sum := sha256.Sum256(body)
	if subtle.ConstantTimeCompare([]byte(headers[headerDigest]), []byte("SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))) != 1 {
		return errBadSignature
	}
	date, err := http.ParseTime(headers[headerDate])
	if err != nil || time.Since(date).Abs() > droneSkew {
		return errBadSignature
	}
	lines := make([]string, 0, len(signed))
	for _, h := range signed {
		var v string
		switch h {
		case "date":
			v = headers[headerDate]
		case "digest":
			v = headers[headerDigest]
		default:
			return errBadSignature
		}
		lines = append(lines, h+": "+v)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strings.Join(lines, "\n")))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return errBadSignature
	}
	return nil
}

// httpSignatureParams reads the key="value" pairs of a Signature header;
// a malformed header gives what it could read (the caller requires each
// parameter it uses).
func httpSignatureParams(h string) map[string]string {
	out := map[string]string{}
	for h != "" {
		key, rest, ok := strings.Cut(h, "=\"")
		if !ok {
			break
		}
		value, rest, ok := strings.Cut(rest, "\"")
		if !ok {
			break
		}
		key = strings.TrimSpace(key)
		if _, dup := out[key]; dup {
			// A parameter given twice is ambiguous: refuse the header.
			return map[string]string{}
		}
		out[key] = value
		h = strings.TrimLeft(rest, ", ")
	}
	return out
}

// hmacHex is the hex HMAC-SHA256 of body keyed with secret.
func hmacHex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// hooks receives providers' webhooks relayed by the ingress.
type hooks struct {
	logger *slog.Logger
	// find returns the integration of that id, whatever its tenant.
	find func(id string) (contracts.Integration, bool)
	// scheme is how the integration's provider signs its webhooks.
	scheme func(typeID string) connectors.WebhookScheme
	// resolve resolves a credential reference of a tenant.
	resolve func(ctx context.Context, tenantID, ref string) (credentials.Secret, error)
	// due makes the integration's open runs due now; it returns how many.
	due func(ctx context.Context, tenantID, integrationID string) int
}

// hookNotFound is the one answer for an unknown integration and for one
// that takes no webhook, so that probing tells nothing apart.
func hookNotFound() error {
	return apierr.New(http.StatusNotFound, apierr.NotFound, "no webhook is configured for this integration")
}

// Receive checks the webhook's signature with the integration's webhook
// secret and, when it holds, reads the integration's open runs at once.
func (h *hooks) Receive(ctx context.Context, r pipelineruns.HookRequest) (pipelineruns.HookAccepted, error) {
	if uuid.Validate(r.IntegrationID) != nil {
		return pipelineruns.HookAccepted{}, hookNotFound()
	}
	it, found := h.find(r.IntegrationID)
	verify, known := verifiers[h.scheme(it.TypeID)]
	ref, _ := it.Config[connectors.WebhookSecretRef].(string)
	if !found || !known || ref == "" {
		return pipelineruns.HookAccepted{}, hookNotFound()
	}
	log := h.logger.With("tenant_id", it.TenantID, "integration_id", it.ID, "type_id", it.TypeID)
	s, err := h.resolve(ctx, it.TenantID, ref)
	secret := s.First("value", "secret", "token", "webhookSecret")
	if err != nil || secret == "" {
		// Not the sender's fault: a 503 makes the provider retry later.
		// The code only: the reference's store may echo what it was asked.
		log.WarnContext(ctx, "webhook secret cannot be resolved (or has no key value or secret)", "error_code", string(resilience.CodeOf(err)))
		return pipelineruns.HookAccepted{}, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the webhook secret cannot be resolved now")
	}
	if err := verify(secret, r.Headers, r.Body); err != nil {
		log.WarnContext(ctx, "webhook refused: signature missing or wrong", "body_bytes", len(r.Body))
		return pipelineruns.HookAccepted{}, apierr.New(http.StatusUnauthorized, apierr.Unauthorized, "the webhook signature is missing or wrong")
	}
	n := h.due(ctx, it.TenantID, it.ID)
	log.InfoContext(ctx, "webhook accepted", "open_runs", n)
	return pipelineruns.HookAccepted{Runs: n}, nil
}

// schemeOf reads the provider's webhook scheme from the registry.
func schemeOf(reg *connectors.Registry) func(string) connectors.WebhookScheme {
	return func(typeID string) connectors.WebhookScheme {
		if spec, ok := reg.Lookup(typeID); ok {
			return spec.Webhook
		}
		return ""
	}
}

// findIntegration finds an integration by id in every tenant of the view:
// a webhook names no tenant, and ids are unique UUIDs.
func findIntegration(view *catalog.View) func(string) (contracts.Integration, bool) {
	return view.Find
}
