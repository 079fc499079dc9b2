package all_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
)

// echoEnv is where a provider case points: an HTTPS echo server (URL, its
// CA in CA) and an SMTP echo server (SMTPHost:SMTPPort, same CA).
type echoEnv struct {
	URL, CA  string
	SMTPHost string
	SMTPPort int
}

// echoCase is one way to configure a provider: its config (beyond caCert
// and timeout), credentialRef, and the secrets behind its env:// refs.
type echoCase struct {
	name          string
	config        map[string]any
	credentialRef string
	// secrets maps env variable names to their values (JSON objects or
	// plain strings, as credentials.LocalResolver reads them).
	secrets map[string]string
}

// Secret values hold a slash, spaces and characters that need escaping in
// URLs and JSON, and a "LeakCore" marker checked on its own, so that half a
// secret left by a split or a cut is caught too.
func secretValue(n int) string { return fmt.Sprintf("Se/cr et+%d&LeakCore%02dx=\"q", n, n) }

const echoUser = "echo-user"

func basicJSON(n int) string {
	b, _ := json.Marshal(map[string]string{"username": echoUser, "password": secretValue(n)})
	return string(b)
}

func keyJSON(field string, n int) string {
	b, _ := json.Marshal(map[string]string{field: secretValue(n)})
	return string(b)
}

func awsJSON(n int) string {
	b, _ := json.Marshal(map[string]string{"accessKeyId": "AKIAECHOTEST", "secretAccessKey": secretValue(n)})
	return string(b)
}

// echoTargets says, for every provider that takes a credential, how to point
// it at the echo servers. A provider without an entry fails the test.
var echoTargets = map[string]func(e echoEnv) []echoCase{
	"inmemory": func(e echoEnv) []echoCase {
		return []echoCase{{name: "token field and basic", config: map[string]any{"token": "env://INTHUB_SECRET_A", "repositories": []any{"a/b"}},
			credentialRef: "env://INTHUB_SECRET_B", secrets: map[string]string{"INTHUB_SECRET_A": secretValue(1), "INTHUB_SECRET_B": basicJSON(2)}}}
	},
	"docker-registry": func(e echoEnv) []echoCase {
		cfg := map[string]any{"url": e.URL, "repository": "echo/repo"}
		return []echoCase{
			{name: "basic", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}},
			{name: "token", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 2)}},
		}
	},
	"prometheus": func(e echoEnv) []echoCase {
		cfg := map[string]any{"url": e.URL}
		return []echoCase{
			{name: "basic", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}},
			{name: "token", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": secretValue(2)}},
		}
	},
	"webhook": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "token and signing secret", config: map[string]any{"url": e.URL + "/hook", "signingSecretRef": "env://INTHUB_SECRET_S"},
				credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1), "INTHUB_SECRET_S": secretValue(2)}},
			{name: "basic", config: map[string]any{"url": e.URL + "/hook"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(3)}},
			{name: "api key", config: map[string]any{"url": e.URL + "/hook"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("apiKey", 4)}},
		}
	},
	"teams": func(e echoEnv) []echoCase {
		return []echoCase{{name: "webhook URL", config: map[string]any{"webhookUrlRef": "env://INTHUB_SECRET_A"},
			secrets: map[string]string{"INTHUB_SECRET_A": e.URL + "/webhookb2/LeakCoreTeams-" + url.PathEscape(secretValue(1)) + "/IncomingWebhook/x"}}}
	},
	"email": func(e echoEnv) []echoCase {
		cfg := func(mech string) map[string]any {
			return map[string]any{"host": e.SMTPHost, "port": float64(e.SMTPPort), "security": "starttls", "from": "hub@example.com",
				"to": []any{"ops@example.com"}, "authMechanism": mech}
		}
		return []echoCase{
			{name: "plain", config: cfg("plain"), credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}},
			{name: "login", config: cfg("login"), credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(2)}},
		}
	},
	"pagerduty": func(e echoEnv) []echoCase {
		return []echoCase{{name: "routing and api key", config: map[string]any{"routingKeyRef": "env://INTHUB_SECRET_R", "eventsUrl": e.URL, "apiUrl": e.URL},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_R": secretValue(1), "INTHUB_SECRET_A": keyJSON("apiKey", 2)}}}
	},
	"opsgenie": func(e echoEnv) []echoCase {
		return []echoCase{{name: "api key", config: map[string]any{"url": e.URL, "schedule": "echo-schedule"},
			credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("apiKey", 1)}}}
	},
	"gitlab": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "private token", config: map[string]any{"url": e.URL}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}},
			{name: "bearer", config: map[string]any{"url": e.URL, "tokenType": "bearer"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("access_token", 2)}},
		}
	},
	"gitlab-ci": func(e echoEnv) []echoCase {
		return []echoCase{{name: "token", config: map[string]any{"url": e.URL, "projectId": "42"}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"github-actions": func(e echoEnv) []echoCase {
		return []echoCase{{name: "token", config: map[string]any{"url": e.URL, "owner": "echo", "repo": "repo"}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"jenkins": func(e echoEnv) []echoCase {
		return []echoCase{{name: "basic", config: map[string]any{"url": e.URL}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(1)}}}
	},
	"slack": func(e echoEnv) []echoCase {
		return []echoCase{{name: "token", config: map[string]any{"url": e.URL + "/api", "defaultChannel": "#general"}, credentialRef: "env://INTHUB_SECRET_A",
			secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}}}
	},
	"s3compatible": func(e echoEnv) []echoCase {
		cfg := map[string]any{"url": e.URL, "bucket": "echo-bucket"}
		return []echoCase{
			{name: "access keys", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": awsJSON(1)}},
			{name: "basic", config: cfg, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": basicJSON(2)}},
		}
	},
	"hashicorp-vault": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "token", config: map[string]any{"url": e.URL, "mountPath": "secret", "canaryPath": "canary"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("token", 1)}},
			{name: "approle", config: map[string]any{"url": e.URL, "mountPath": "secret", "authMethod": "approle", "roleId": "echo-role",
				"secretIdRef": "env://INTHUB_SECRET_S", "canaryPath": "canary"}, secrets: map[string]string{"INTHUB_SECRET_S": secretValue(2)}},
		}
	},
	"aws-secrets-manager": func(e echoEnv) []echoCase {
		return []echoCase{
			{name: "static", config: map[string]any{"region": "eu-west-1", "url": e.URL, "canarySecret": "canary"}, credentialRef: "env://INTHUB_SECRET_A",
				secrets: map[string]string{"INTHUB_SECRET_A": awsJSON(1)}},
			{name: "assume role", config: map[string]any{"region": "eu-west-1", "url": e.URL, "stsUrl": e.URL, "authMethod": "assumeRole",
				"roleArn": "arn:aws:iam::123456789012:role/echo"}, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": awsJSON(2)}},
		}
	},
	"azure-key-vault": func(e echoEnv) []echoCase {
		return []echoCase{{name: "client secret", config: map[string]any{"url": e.URL, "tenantId": "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
			"clientId": "0f1e2d3c-aaaa-bbbb-cccc-000000000002", "authorityHost": e.URL + "/", "skipChallengeResourceVerification": true,
			"canarySecret": "canary"}, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": keyJSON("clientSecret", 1)}}}
	},
	"gcp-secret-manager": func(e echoEnv) []echoCase {
		return []echoCase{{name: "service account", config: map[string]any{"project": "echo-project", "url": e.URL, "tokenUrl": e.URL + "/token",
			"canarySecret": "canary"}, credentialRef: "env://INTHUB_SECRET_A", secrets: map[string]string{"INTHUB_SECRET_A": serviceAccountJSON(e.URL)}}}
	},
}

var (
	saOnce sync.Once
	saKey  string
)

// serviceAccountJSON is a service-account key with a real RSA key (the
// connector signs its token request with it).
func serviceAccountJSON(tokenURL string) string {
	saOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		saKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	})
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "echo-project", "private_key_id": "LeakCoreKeyId-" + secretValue(9),
		"private_key": saKey, "client_email": "echo@echo-project.iam.gserviceaccount.com", "token_uri": tokenURL + "/token"})
	return string(b)
}

// echoResolver resolves env:// references from env only. It is the one
// place that knows how the test's references are resolved.
func echoResolver(env map[string]string) *credentials.Resolver {
	return &credentials.Resolver{Local: credentials.LocalResolver{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		EnvPrefix: "INTHUB_SECRET_",
	}}
}

// takesCredential reports whether a provider takes a credential: a
// credential type or a secret field of its own.
func takesCredential(s *connectors.Spec) bool {
	if len(s.CredentialTypes) > 0 {
		return true
	}
	for _, f := range s.Fields {
		if f.Secret {
			return true
		}
	}
	return false
}

// echoMode is how the HTTP echo server answers: an error status with the
// echo in a JSON or a text body, or a success whose names are the echo.
type echoMode struct {
	name        string
	status      int
	contentType string
}

var echoModes = []echoMode{
	{"401 json", http.StatusUnauthorized, "application/json"},
	{"400 text", http.StatusBadRequest, "text/plain"},
	{"429 json", http.StatusTooManyRequests, "application/json"},
	{"200 json", http.StatusOK, "application/json"},
}

// httpEcho answers every request with what it received: method, URL,
// headers and body, in the current mode.
type httpEcho struct {
	srv  *httptest.Server
	mode atomic.Pointer[echoMode]
}

func (h *httpEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s\n", r.Method, r.URL.String())
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&sb, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
	sb.Write(body)
	if u, p, ok := r.BasicAuth(); ok {
		fmt.Fprintf(&sb, "\nyou are %s with password %s", u, p) // decoded, as a server would quote it
	}
	if q, err := url.ParseQuery(string(body)); err == nil {
		for k, v := range q {
			fmt.Fprintf(&sb, "\nform %s=%s", k, strings.Join(v, ","))
		}
	}
	echo := sb.String()
	m := h.mode.Load()
	w.Header().Set("Content-Type", m.contentType)
	switch m.status {
	case http.StatusOK:
		writeSuccess(w, r, strings.Join(strings.Fields(echo), " "))
		return
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+h.srv.URL+`/token",service="echo"`)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(m.status)
	if m.contentType == "application/json" {
		_ = json.NewEncoder(w).Encode(map[string]any{"message": echo, "error": echo, "error_description": echo,
			"errors": []any{map[string]any{"message": echo, "code": "ECHO"}}, "ok": false})
		return
	}
	_, _ = io.WriteString(w, echo)
}

// writeSuccess answers 200 with the echo in the fields providers read names,
// ids, tokens and messages from.
func writeSuccess(w http.ResponseWriter, r *http.Request, e string) {
	item := map[string]any{"id": e, "name": e, "full_name": e, "fullName": e, "path_with_namespace": e, "path": e, "url": e,
		"html_url": e, "web_url": e, "ref": e, "status": "success", "conclusion": "success", "color": "blue", "username": e}
	if strings.Contains(r.URL.Path, "/api/v4/") && strings.HasSuffix(r.URL.Path, "s") {
		_ = json.NewEncoder(w).Encode([]any{item})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ok": true, "message": e, "id": e, "name": e, "token": e, "access_token": e, "expires_in": 3600, "token_type": "Bearer",
		"repositories": []any{e}, "tags": []any{e}, "channels": []any{map[string]any{"id": "C0123ECHO", "name": e}},
		"jobs": []any{item}, "workflows": []any{item}, "workflow_runs": []any{item}, "data": map[string]any{"data": map[string]any{"value": e},
			"onCallRecipients": []any{e}, "onCallParticipants": []any{map[string]any{"name": e}}},
		"dedup_key": e, "requestId": e, "result": e, "ts": "1700000000.000100", "channel": "C0123ECHO",
		"auth": map[string]any{"client_token": e, "lease_duration": 60}, "status": "success",
		"team_id": "T0ECHO", "team": e, "user": e, "url": e, "value": e,
	})
}

// smtpEcho is an SMTP server that offers STARTTLS and AUTH PLAIN/LOGIN and
// quotes what it received (raw and decoded) in its replies: 535 to AUTH in
// the "fail" mode; 235 then a 553 to MAIL FROM in the "later" mode.
type smtpEcho struct {
	ln    net.Listener
	tls   *tls.Config
	later atomic.Bool
}

func (s *smtpEcho) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *smtpEcho) session(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(c), c
	reply := func(line string) { _, _ = io.WriteString(w, line+"\r\n") }
	read := func() (string, bool) {
		l, err := r.ReadString('\n')
		return strings.TrimRight(l, "\r\n"), err == nil
	}
	decoded := func(b string) string {
		d, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return ""
		}
		return strings.ReplaceAll(string(d), "\x00", " ")
	}
	var heard []string
	reply("220 echo ESMTP")
	secure := false
	for {
		line, ok := read()
		if !ok {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO", "HELO":
			if secure {
				reply("250-echo\r\n250 AUTH PLAIN LOGIN")
			} else {
				reply("250-echo\r\n250 STARTTLS")
			}
		case "STARTTLS":
			reply("220 go ahead")
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c, r, w, secure = tc, bufio.NewReader(tc), tc, true
		case "AUTH":
			f := strings.Fields(line)
			heard = append(heard, line)
			if len(f) == 3 {
				heard = append(heard, decoded(f[2]))
			}
			if len(f) == 2 && strings.EqualFold(f[1], "LOGIN") {
				for _, prompt := range []string{"334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6"} {
					reply(prompt)
					l, ok := read()
					if !ok {
						return
					}
					heard = append(heard, l, decoded(l))
				}
			}
			if len(f) == 2 && strings.EqualFold(f[1], "PLAIN") {
				reply("334 ")
				l, ok := read()
				if !ok {
					return
				}
				heard = append(heard, l, decoded(l))
			}
			if s.later.Load() {
				reply("235 2.7.0 accepted")
			} else {
				reply("535 5.7.8 Authentication failed: you sent " + strings.Join(heard, " | "))
			}
		case "MAIL", "RCPT", "DATA":
			reply("553 5.7.1 refused; your AUTH was " + strings.Join(heard, " | "))
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}

// echoServers starts both echo servers for one test.
func echoServers(t *testing.T) (*httpEcho, *smtpEcho, echoEnv) {
	t.Helper()
	h := &httpEcho{}
	h.mode.Store(&echoModes[0])
	h.srv = httptest.NewTLSServer(h)
	t.Cleanup(h.srv.Close)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.srv.Certificate().Raw}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpEcho{ln: ln, tls: &tls.Config{Certificates: h.srv.TLS.Certificates, MinVersion: tls.VersionTLS12}}
	go s.serve()
	port := ln.Addr().(*net.TCPAddr).Port
	return h, s, echoEnv{URL: h.srv.URL, CA: ca, SMTPHost: "127.0.0.1", SMTPPort: port}
}

// recordingMetrics keeps every label the pool's HTTP metrics were given.
type recordingMetrics struct {
	mu     sync.Mutex
	labels []string
}

func (m *recordingMetrics) ObserveRequest(host, code string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.labels = append(m.labels, host, code)
}

// secretForms are the spellings of the case's secrets a leak could take.
// User names alone are no secret (see credentials.Scrubber); "LeakCore"
// markers catch a part of a secret left behind.
func secretForms(secrets map[string]string) []string {
	var forms []string
	addValue := func(v string) {
		b := []byte(v)
		j, _ := json.Marshal(v)
		q := strconv.Quote(v)
		forms = append(forms, v, base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			url.QueryEscape(v), url.PathEscape(v), string(j[1:len(j)-1]), q[1:len(q)-1])
	}
	for _, raw := range secrets {
		var m map[string]string
		if json.Unmarshal([]byte(raw), &m) != nil {
			m = map[string]string{"value": raw}
		}
		for k, v := range m {
			switch k {
			case "username", "accessKeyId", "type", "project_id", "client_email", "token_uri":
				continue
			}
			addValue(v)
			if u, err := url.Parse(v); err == nil && u.Scheme == "https" {
				addValue(u.Path)
				addValue(u.EscapedPath())
			}
		}
		if p := m["password"]; p != "" {
			addValue(m["username"] + ":" + p)
			for _, blob := range []string{"\x00" + m["username"] + "\x00" + p, m["username"] + "\x00" + m["username"] + "\x00" + p} {
				forms = append(forms, base64.StdEncoding.EncodeToString([]byte(blob)))
			}
		}
	}
	for i := 0; i < 100; i++ {
		forms = append(forms, fmt.Sprintf("LeakCore%02d", i))
	}
	return append(forms, "LeakCoreTeams", "LeakCoreKeyId")
}

// runEverything runs every capability of conn that spec declares and
// returns every text that came back: error messages, ids, resource names
// and attributes. A secret store's values are the secret asked for and are
// left out; its errors are in.
func runEverything(ctx context.Context, conn connectors.Connector, spec *connectors.Spec) []string {
	var texts []string
	add := func(err error, s ...string) {
		if err != nil {
			texts = append(texts, err.Error())
		}
		texts = append(texts, s...)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if c, ok := connectors.AsChecker(conn); ok {
		add(c.CheckConnectivity(ctx))
		add(c.CheckAuthentication(ctx))
		add(c.CheckFunctionality(ctx))
	}
	if d, ok := connectors.AsDiscoverer(conn); ok {
		for _, rt := range spec.ResourceTypes {
			q := connectors.DiscoveryQuery{ResourceType: rt, Filter: contracts.DiscoveryFilter{Repository: "echo/repo"}, PageSize: 10}
			for page := 0; page < 2; page++ {
				p, err := d.Discover(ctx, q)
				b, _ := json.Marshal(p.Items)
				add(err, string(b), p.NextCursor)
				if err != nil || p.NextCursor == "" {
					break
				}
				q.Cursor = p.NextCursor
			}
		}
	}
	if n, ok := connectors.AsNotifier(conn); ok {
		id, err := n.Notify(ctx, connectors.Message{Severity: "critical", Title: "echo", Text: "echo text", ThreadKey: "echo-thread"})
		add(err, id)
	}
	if tr, ok := connectors.AsTriggerer(conn); ok {
		id, err := tr.Trigger(ctx, "build", "main", map[string]string{"k": "v"})
		add(err, id)
	}
	if q, ok := connectors.AsMetricsQuerier(conn); ok {
		v, err := q.Query(ctx, "up")
		add(err, strconv.FormatFloat(v, 'g', -1, 64))
	}
	if r, ok := connectors.AsReactor(conn); ok {
		add(r.React(ctx, "C0123ECHO", "1700000000.000100", "white_check_mark"))
	}
	if sr, ok := connectors.AsSecretReader(conn); ok {
		_, err := sr.ReadSecret(ctx, "echo-secret")
		add(err)
	}
	return texts
}

func TestEchoedSecretsNeverLeaveAConnector(t *testing.T) {
	t.Parallel()
	specs := all.Specs()
	for _, spec := range specs {
		if !takesCredential(spec) {
			continue
		}
		target, ok := echoTargets[spec.ID]
		if !ok {
			t.Errorf("provider %s takes a credential but has no entry in echoTargets: say how to point it at the echo servers", spec.ID)
			continue
		}
		t.Run(spec.ID, func(t *testing.T) {
			t.Parallel()
			h, smtpSrv, env := echoServers(t)
			for _, tc := range target(env) {
				for _, mode := range echoModes {
					t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
						h.mode.Store(&mode)
						smtpSrv.later.Store(mode.status == http.StatusOK)
						metrics := &recordingMetrics{}
						pool := runtime.NewPool(connectors.NewRegistry(spec), echoResolver(tc.secrets), httpx.GuardPolicy{AllowPrivate: true}, metrics)
						defer pool.Close()
						cfg := map[string]any{"caCert": env.CA, "timeout": float64(5)}
						for k, v := range tc.config {
							cfg[k] = v
						}
						if err := spec.ValidateConfig(cfg); err != nil {
							t.Fatalf("config refused: %v", err)
						}
						it := contracts.Integration{ID: "echo-1", TenantID: "tenant-1", TypeID: spec.ID, Revision: 1, Config: cfg, CredentialRef: tc.credentialRef}
						var texts []string
						conn, _, err := pool.Get(context.Background(), it)
						if err != nil {
							texts = append(texts, err.Error())
						} else {
							texts = append(texts, runEverything(context.Background(), conn, spec)...)
						}
						metrics.mu.Lock()
						texts = append(texts, metrics.labels...)
						metrics.mu.Unlock()
						for _, text := range texts {
							for _, form := range secretForms(tc.secrets) {
								if len(form) >= credentials.ScrubMinLen && strings.Contains(text, form) {
									t.Errorf("secret form %q left in %q", form, text)
								}
							}
						}
						if testing.Verbose() {
							for _, text := range texts {
								t.Logf("%.300s", text)
							}
						}
					})
				}
			}
		})
	}
}
