package email

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/connectors/notify/email/smtptest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

const (
	user     = "release-bot"
	password = "s3cr3t-smtp-pass"
)

type envSource map[string]string

func (e envSource) Resolve(ctx context.Context, raw string) (credentials.Secret, error) {
	return testsvc.EnvCredentials(e).Resolve(ctx, raw)
}

type setup struct {
	config        map[string]any
	credentialRef string
	env           envSource
	policy        httpx.GuardPolicy
}

func forServer(s *smtptest.Server) setup {
	return setup{
		config: map[string]any{
			"host": s.Host, "port": s.Port, "from": "Release Bot <bot@inthub.test>",
			"to": []any{"oncall@inthub.test"}, "caCert": s.CAPEM, "timeout": 5,
		},
		credentialRef: "env://SMTP_CREDS",
		env:           envSource{"SMTP_CREDS": user + ":" + password},
		policy:        httpx.GuardPolicy{AllowPrivate: true},
	}
}

func newConnector(t *testing.T, s setup) *Connector {
	t.Helper()
	if err := Spec.ValidateConfig(s.config); err != nil {
		t.Fatalf("config refused by the spec: %v", err)
	}
	c, err := Spec.New(context.Background(), connectors.Instance{
		Integration: contracts.Integration{ID: "mail-1", TypeID: Spec.ID, Config: s.config, CredentialRef: s.credentialRef},
		Credentials: s.env, Policy: s.policy,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*Connector)
}

func wantCode(t *testing.T, what string, err error, want resilience.Code) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("%s: code %q (err %v), want %s", what, got, err, want)
	}
}

func checks(c *Connector) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"connectivity": c.CheckConnectivity, "authentication": c.CheckAuthentication, "functionality": c.CheckFunctionality,
	}
}

// parsed is a received message, decoded.
type parsed struct {
	header      mail.Header
	text, html  string
	attachments map[string][]byte
}

func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a message: %v\n%s", err, raw)
	}
	p := parsed{header: m.Header, attachments: map[string][]byte{}}
	var walk func(r io.Reader, ct string)
	walk = func(r io.Reader, ct string) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if !strings.HasPrefix(mt, "multipart/") {
			t.Fatalf("unexpected leaf %s at the top", mt)
		}
		mr := multipart.NewReader(r, params["boundary"])
		for {
			part, err := mr.NextPart() // decodes quoted-printable itself
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pct := part.Header.Get("Content-Type")
			pmt, _, _ := mime.ParseMediaType(pct)
			switch {
			case strings.HasPrefix(pmt, "multipart/"):
				walk(part, pct)
			case part.FileName() != "":
				b, _ := io.ReadAll(part)
				dec := make([]byte, len(b))
				n, err := base64Decode(dec, b)
				if err != nil {
					t.Fatalf("attachment %s: %v", part.FileName(), err)
				}
				p.attachments[part.FileName()] = dec[:n]
			case pmt == "text/plain":
				b, _ := io.ReadAll(part)
				p.text = string(b)
			case pmt == "text/html":
				b, _ := io.ReadAll(part)
				p.html = string(b)
			}
		}
	}
	walk(m.Body, m.Header.Get("Content-Type"))
	return p
}

func TestNotifyOverSTARTTLSWithAuth(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{MechanismAuto, MechanismPlain, MechanismLogin} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{Username: user, Password: password})
			s := forServer(srv)
			s.config["authMechanism"] = mech
			s.config["subjectPrefix"] = "[inthub]"
			c := newConnector(t, s)
			id, err := c.Notify(context.Background(), connectors.Message{
				Severity: "critical", Title: "Registry <prod> is unhealthy", Text: "connection refused\n\nsince 10:15 & counting",
			})
			if err != nil {
				t.Fatalf("Notify: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages", len(msgs))
			}
			got := msgs[0]
			if !got.TLS || got.User != user || got.From != "bot@inthub.test" || len(got.To) != 1 || got.To[0] != "oncall@inthub.test" {
				t.Errorf("envelope %+v", got)
			}
			p := parse(t, got.Data)
			if p.header.Get("Message-Id") != id || !strings.HasSuffix(id, "@inthub.test>") {
				t.Errorf("Message-ID %q, returned %q", p.header.Get("Message-Id"), id)
			}
			subject, _ := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
			if subject != "[inthub] Registry <prod> is unhealthy" || p.header.Get("X-Inthub-Severity") != "critical" {
				t.Errorf("subject %q, headers %v", subject, p.header)
			}
			if !strings.Contains(p.text, "since 10:15 & counting") {
				t.Errorf("text part %q", p.text)
			}
			if !strings.Contains(p.html, "Registry &lt;prod&gt; is unhealthy") || !strings.Contains(p.html, "since 10:15 &amp; counting") {
				t.Errorf("html part is not escaped: %q", p.html)
			}
		})
	}
}

func TestTemplateHTMLAttachmentsAndThreading(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Username: user, Password: password})
	c := newConnector(t, forServer(srv))
	pdf := bytes.Repeat([]byte("%PDF-1.7 report "), 20)
	first, err := c.Notify(context.Background(), connectors.Message{
		Title: "Release v1.2.3 promoted", Text: "see attached", Channel: "ana@inthub.test, Bo <bo@inthub.test>",
		Data: map[string]any{
			notify.KeyHTML:        "<p>rendered <b>template</b></p>",
			notify.KeyAttachments: []notify.Attachment{{Filename: "report.pdf", ContentType: "application/pdf", Content: pdf}, {Filename: "notes.txt", ContentType: "text/plain; charset=utf-8", Content: []byte("ok")}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Notify(context.Background(), connectors.Message{Title: "follow-up", Text: "x", ThreadKey: first}); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 || len(msgs[0].To) != 2 || msgs[0].To[1] != "bo@inthub.test" {
		t.Fatalf("messages %+v", msgs)
	}
	p := parse(t, msgs[0].Data)
	if p.html != "<p>rendered <b>template</b></p>" {
		t.Errorf("html %q", p.html)
	}
	if !bytes.Equal(p.attachments["report.pdf"], pdf) || string(p.attachments["notes.txt"]) != "ok" {
		t.Errorf("attachments %v", p.attachments)
	}
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/mixed") {
		t.Errorf("top content type %q", ct)
	}
	follow := parse(t, msgs[1].Data)
	if follow.header.Get("In-Reply-To") != first || follow.header.Get("References") != first {
		t.Errorf("follow-up not threaded: %v", follow.header)
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Username: user, Password: password})
	c := newConnector(t, forServer(srv))
	for name, check := range checks(c) {
		if err := check(context.Background()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, probes := srv.Stats(); probes != 1 || len(srv.Messages()) != 0 {
		t.Errorf("functionality: %d probes and %d messages, want 1 and 0", probes, len(srv.Messages()))
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Username: user, Password: password, RejectRecipients: []string{"gone@inthub.test"}})
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		s := forServer(srv)
		s.env["SMTP_CREDS"] = user + ":wrong"
		c := newConnector(t, s)
		if err := c.CheckConnectivity(context.Background()); err != nil {
			t.Errorf("connectivity: %v", err)
		}
		err := c.CheckAuthentication(context.Background())
		wantCode(t, "authentication", err, resilience.AuthenticationFailed)
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error carries the password: %v", err)
		}
	})
	t.Run("no credentials where the server wants them", func(t *testing.T) {
		t.Parallel()
		s := forServer(srv)
		s.credentialRef = ""
		c := newConnector(t, s)
		if err := c.CheckAuthentication(context.Background()); err != nil {
			t.Errorf("authentication without credentials passes: %v", err)
		}
		wantCode(t, "functionality", c.CheckFunctionality(context.Background()), resilience.AuthenticationFailed)
	})
	t.Run("recipient refused", func(t *testing.T) {
		t.Parallel()
		s := forServer(srv)
		s.config["to"] = []any{"gone@inthub.test"}
		c := newConnector(t, s)
		wantCode(t, "functionality", c.CheckFunctionality(context.Background()), resilience.InvalidConfig)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		s := forServer(srv)
		delete(s.config, "caCert")
		c := newConnector(t, s)
		wantCode(t, "connectivity", c.CheckConnectivity(context.Background()), resilience.ConnectionRefused)
	})
	t.Run("credentials not resolvable", func(t *testing.T) {
		t.Parallel()
		s := forServer(srv)
		s.env = envSource{}
		c := newConnector(t, s)
		_, err := c.Notify(context.Background(), connectors.Message{Title: "x"})
		wantCode(t, "notify", err, resilience.CredentialFetchFailed)
	})
	t.Run("bad channel", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, forServer(srv))
		_, err := c.Notify(context.Background(), connectors.Message{Title: "x", Channel: "#releases"})
		wantCode(t, "notify", err, resilience.InvalidConfig)
	})
}

func TestTemporaryFailureIsRetryable(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Username: user, Password: password})
	srv.TempFail(1)
	c := newConnector(t, forServer(srv))
	_, err := c.Notify(context.Background(), connectors.Message{Title: "x"})
	wantCode(t, "451", err, resilience.UpstreamError)
	if resilience.StrategyFor(resilience.CodeOf(err)) == resilience.NoRetry {
		t.Error("a 451 must be retried")
	}
	if _, err := c.Notify(context.Background(), connectors.Message{Title: "x"}); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
}

func TestSTARTTLSIsRequired(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{NoStartTLS: true})
	s := forServer(srv)
	s.credentialRef = ""
	c := newConnector(t, s)
	wantCode(t, "connectivity", c.CheckConnectivity(context.Background()), resilience.InvalidConfig)
	// A trusted plaintext relay works when asked for explicitly, without
	// credentials.
	s.config["security"] = SecurityNone
	plain := newConnector(t, s)
	if _, err := plain.Notify(context.Background(), connectors.Message{Title: "x"}); err != nil {
		t.Fatalf("plaintext relay: %v", err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].TLS {
		t.Errorf("messages %+v", msgs)
	}
	s.credentialRef = "env://SMTP_CREDS"
	_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: s.config, CredentialRef: s.credentialRef}})
	wantCode(t, "credentials over plaintext", err, resilience.InvalidConfig)
}

func TestGuardRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Username: user, Password: password})
	s := forServer(srv)
	s.policy = httpx.GuardPolicy{}
	c := newConnector(t, s)
	for name, check := range checks(c) {
		wantCode(t, name, check(context.Background()), resilience.DestinationBlocked)
	}
	// "localhost" resolves to loopback: refused after DNS, too.
	s.config["host"] = "localhost"
	byName := newConnector(t, s)
	wantCode(t, "by name", byName.CheckConnectivity(context.Background()), resilience.DestinationBlocked)
	// Special-purpose ranges are refused with the reason, by the same guard
	// as HTTP.
	for _, host := range []string{"192.0.2.25", "198.18.0.25", "224.0.0.251"} {
		s.config["host"] = host
		err := newConnector(t, s).CheckConnectivity(context.Background())
		wantCode(t, host, err, resilience.DestinationBlocked)
		if !strings.Contains(err.Error(), host+" is in ") {
			t.Errorf("%s: error %q does not say why", host, err)
		}
	}
	if sessions, _, _ := srv.Stats(); sessions != 0 {
		t.Errorf("%d sessions got through the guard", sessions)
	}
}

func TestDownAndSlowServers(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	// A server that accepts and never greets.
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	s := setup{config: map[string]any{"host": "127.0.0.1", "port": addr.Port, "from": "bot@inthub.test", "to": []any{"a@inthub.test"}, "timeout": 1},
		policy: httpx.GuardPolicy{AllowPrivate: true}}
	c := newConnector(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	wantCode(t, "silent server", c.CheckConnectivity(ctx), resilience.Timeout)
	if time.Since(start) > 2*time.Second {
		t.Errorf("the context did not bound the session: %s", time.Since(start))
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	port := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	s.config["port"] = port
	down := newConnector(t, s)
	wantCode(t, "down", down.CheckConnectivity(context.Background()), resilience.ConnectionRefused)
}

func TestNewRefusesConfigThatCannotWork(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]map[string]any{
		"no host":  {"from": "a@b.c", "to": []any{"d@e.f"}},
		"bad from": {"host": "smtp.example.com", "from": "not an address", "to": []any{"d@e.f"}},
		"bad to":   {"host": "smtp.example.com", "from": "a@b.c", "to": []any{"#general"}},
		"no to":    {"host": "smtp.example.com", "from": "a@b.c"},
		"bad CA":   {"host": "smtp.example.com", "from": "a@b.c", "to": []any{"d@e.f"}, "caCert": "nope"},
	} {
		_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: cfg}})
		wantCode(t, name, err, resilience.InvalidConfig)
	}
}

// base64Decode decodes a base64 part body; the decoder skips line breaks.
var base64Decode = base64.StdEncoding.Decode
