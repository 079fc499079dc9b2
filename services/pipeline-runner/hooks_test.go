package pipelinerunner

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/connectors/cicd/drone/dronefake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/pipelineruns"
)

const hookSecret = "s3cr3t-hook-value"

func circleSig(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

func githubSig(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// hookEnv is a hooks receiver over fixed integrations.
type hookEnv struct {
	h    *hooks
	logs *bytes.Buffer
	due  atomic.Int32
	its  map[string]contracts.Integration
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	e := &hookEnv{logs: &bytes.Buffer{}}
	it := func(typeID string, config map[string]any) contracts.Integration {
		return contracts.Integration{ID: uuid.NewString(), TenantID: tenant, TypeID: typeID, Config: config}
	}
	withSecret := map[string]any{connectors.WebhookSecretRef: "env://HOOK"}
	e.its = map[string]contracts.Integration{
		"gitlab-ci":       it("gitlab-ci", withSecret),
		"github-actions":  it("github-actions", withSecret),
		"drone":           it("drone", withSecret),
		"circleci":        it("circleci", withSecret),
		"gitlab-ci-":      it("gitlab-ci", map[string]any{}),
		"jenkins":         it("jenkins", withSecret),
		"gitlab-ci-UNSET": it("gitlab-ci", map[string]any{connectors.WebhookSecretRef: "env://UNSET"}),
	}
	e.h = &hooks{
		logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		scheme: schemeOf(all.Registry()),
		find: func(id string) (contracts.Integration, bool) {
			for _, it := range e.its {
				if it.ID == id {
					return it, true
				}
			}
			return contracts.Integration{}, false
		},
		resolve: func(_ context.Context, _, ref string) (credentials.Secret, error) {
			if ref != "env://HOOK" {
				return nil, errors.New("not set")
			}
			return credentials.Secret{"value": hookSecret}, nil
		},
		due: func(context.Context, string, string) int { e.due.Add(1); return 1 },
	}
	return e
}

// TestHookSignatures: each provider's signature scheme accepts the right
// signature (and makes the runs due) and refuses a missing, wrong or
// wrong-length one with 401, logging the integration but never the secret
// or the signature; an unknown integration and one without a webhook
// secret are the same 404.
func TestHookSignatures(t *testing.T) {
	t.Parallel()
	body := []byte(`{"object_kind":"pipeline","object_attributes":{"id":42,"status":"running"}}`)
	goodGH := githubSig(hookSecret, body)
	// Drone's headers, signed as its webhook sender signs them.
	drone := func(secret string, body []byte, date time.Time, edit func(map[string]string)) map[string]string {
		out := map[string]string{}
		for k, v := range dronefake.SignWebhook(secret, body, date) {
			if k == headerSignature || k == headerDate || k == headerDigest {
				out[k] = v[0]
			}
		}
		if edit != nil {
			edit(out)
		}
		return out
	}
	now := time.Now()
	other := []byte(`{"event":"build","action":"updated"}`)
	goodCircle := circleSig(hookSecret, body)
	cases := []struct {
		name       string
		it         string // key of hookEnv.its, or "" for an unknown id
		headers    map[string]string
		body       []byte
		wantStatus int
	}{
		{"gitlab valid token", "gitlab-ci", map[string]string{headerGitLabToken: hookSecret}, body, 0},
		{"gitlab missing token", "gitlab-ci", nil, body, http.StatusUnauthorized},
		{"gitlab wrong token", "gitlab-ci", map[string]string{headerGitLabToken: "s3cr3t-hook-valuX"}, body, http.StatusUnauthorized},
		{"gitlab wrong length", "gitlab-ci", map[string]string{headerGitLabToken: hookSecret + "x"}, body, http.StatusUnauthorized},
		{"gitlab github header instead", "gitlab-ci", map[string]string{headerGitHubSig: goodGH}, body, http.StatusUnauthorized},
		{"github valid signature", "github-actions", map[string]string{headerGitHubSig: goodGH}, body, 0},
		{"github missing signature", "github-actions", nil, body, http.StatusUnauthorized},
		{"github wrong secret", "github-actions", map[string]string{headerGitHubSig: githubSig("other", body)}, body, http.StatusUnauthorized},
		{"github body changed", "github-actions", map[string]string{headerGitHubSig: goodGH}, append([]byte(" "), body...), http.StatusUnauthorized},
		{"github wrong length", "github-actions", map[string]string{headerGitHubSig: goodGH[:len(goodGH)-2]}, body, http.StatusUnauthorized},
		{"github without sha256= prefix", "github-actions", map[string]string{headerGitHubSig: strings.TrimPrefix(goodGH, "sha256=")}, body, http.StatusUnauthorized},
		{"github sha1 scheme", "github-actions", map[string]string{headerGitHubSig: "sha1=" + strings.TrimPrefix(goodGH, "sha256=")}, body, http.StatusUnauthorized},
		{"github gitlab token instead", "github-actions", map[string]string{headerGitLabToken: hookSecret}, body, http.StatusUnauthorized},
		{"drone valid signature", "drone", drone(hookSecret, body, now, nil), body, 0},
		{"drone signed a minute ago", "drone", drone(hookSecret, body, now.Add(-time.Minute), nil), body, 0},
		{"drone missing signature", "drone", drone(hookSecret, body, now, func(h map[string]string) { delete(h, headerSignature) }), body, http.StatusUnauthorized},
		{"drone wrong secret", "drone", drone("other", body, now, nil), body, http.StatusUnauthorized},
		{"drone body changed", "drone", drone(hookSecret, body, now, nil), other, http.StatusUnauthorized},
		{"drone body and digest changed", "drone", drone(hookSecret, body, now, func(h map[string]string) {
			h[headerDigest] = drone(hookSecret, other, now, nil)[headerDigest]
		}), other, http.StatusUnauthorized},
		{"drone replayed after ten minutes", "drone", drone(hookSecret, body, now.Add(-10*time.Minute), nil), body, http.StatusUnauthorized},
		{"drone date changed", "drone", drone(hookSecret, body, now.Add(-time.Minute), func(h map[string]string) { h[headerDate] = now.UTC().Format(http.TimeFormat) }), body, http.StatusUnauthorized},
		{"drone signature over the date alone", "drone", drone(hookSecret, body, now, func(h map[string]string) {
			h[headerSignature] = strings.Replace(h[headerSignature], `headers="date digest"`, `headers="date"`, 1)
		}), body, http.StatusUnauthorized},
		{"drone hmac-sha1", "drone", drone(hookSecret, body, now, func(h map[string]string) {
			h[headerSignature] = strings.Replace(h[headerSignature], "hmac-sha256", "hmac-sha1", 1)
		}), body, http.StatusUnauthorized},
		{"drone a parameter twice", "drone", drone(hookSecret, body, now, func(h map[string]string) {
			h[headerSignature] += `,signature="AAAA"`
		}), body, http.StatusUnauthorized},
		{"drone github header instead", "drone", map[string]string{headerGitHubSig: goodGH}, body, http.StatusUnauthorized},
		{"circleci valid signature", "circleci", map[string]string{headerCircleCISig: goodCircle}, body, 0},
		{"circleci valid v1 among other versions", "circleci", map[string]string{headerCircleCISig: "v2=abcd, " + goodCircle}, body, 0},
		{"circleci missing signature", "circleci", nil, body, http.StatusUnauthorized},
		{"circleci wrong secret", "circleci", map[string]string{headerCircleCISig: circleSig("other", body)}, body, http.StatusUnauthorized},
		{"circleci body changed", "circleci", map[string]string{headerCircleCISig: goodCircle}, append(body, ' '), http.StatusUnauthorized},
		{"circleci without v1= prefix", "circleci", map[string]string{headerCircleCISig: strings.TrimPrefix(goodCircle, "v1=")}, body, http.StatusUnauthorized},
		{"circleci another version only", "circleci", map[string]string{headerCircleCISig: "v2=" + strings.TrimPrefix(goodCircle, "v1=")}, body, http.StatusUnauthorized},
		{"circleci github header instead", "circleci", map[string]string{headerGitHubSig: goodGH}, body, http.StatusUnauthorized},
		{"github circleci header instead", "github-actions", map[string]string{headerCircleCISig: goodCircle}, body, http.StatusUnauthorized},
		{"unknown integration", "", map[string]string{headerGitLabToken: hookSecret}, body, http.StatusNotFound},
		{"no webhook secret configured", "gitlab-ci-", map[string]string{headerGitLabToken: hookSecret}, body, http.StatusNotFound},
		{"provider without webhooks", "jenkins", map[string]string{headerGitLabToken: hookSecret}, body, http.StatusNotFound},
		{"secret not resolvable", "gitlab-ci-UNSET", map[string]string{headerGitLabToken: hookSecret}, body, http.StatusServiceUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newHookEnv(t)
			id := uuid.NewString()
			if tc.it != "" {
				it, ok := e.its[tc.it]
				if !ok {
					t.Fatalf("no integration %q in the env", tc.it)
				}
				id = it.ID
			}
			out, err := e.h.Receive(context.Background(), pipelineruns.HookRequest{IntegrationID: id, Headers: tc.headers, Body: tc.body})
			if tc.wantStatus == 0 {
				if err != nil || out.Runs != 1 || e.due.Load() != 1 {
					t.Fatalf("accepted: %+v %v, due called %d times", out, err, e.due.Load())
				}
				return
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != tc.wantStatus {
				t.Fatalf("answer %v, want status %d", err, tc.wantStatus)
			}
			if e.due.Load() != 0 {
				t.Fatal("a refused webhook made runs due")
			}
			logs := e.logs.String()
			if strings.Contains(logs, hookSecret) || strings.Contains(logs, goodGH[7:20]) || strings.Contains(logs, goodCircle[3:16]) {
				t.Fatalf("the log holds the secret or a signature: %s", logs)
			}
			if tc.wantStatus == http.StatusUnauthorized && (!strings.Contains(logs, "webhook refused") || !strings.Contains(logs, id)) {
				t.Fatalf("a refused webhook is not logged with its integration: %q", logs)
			}
		})
	}
	t.Run("unknown and unconfigured answer alike", func(t *testing.T) {
		t.Parallel()
		e := newHookEnv(t)
		_, a := e.h.Receive(context.Background(), pipelineruns.HookRequest{IntegrationID: uuid.NewString()})
		_, b := e.h.Receive(context.Background(), pipelineruns.HookRequest{IntegrationID: e.its["gitlab-ci-"].ID})
		_, c := e.h.Receive(context.Background(), pipelineruns.HookRequest{IntegrationID: "not-a-uuid"})
		if a == nil || a.Error() != b.Error() || a.Error() != c.Error() {
			t.Fatalf("answers differ: %v / %v / %v", a, b, c)
		}
	})
}
