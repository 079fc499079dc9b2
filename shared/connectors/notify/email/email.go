package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the email connector of one integration revision.
type Connector struct {
	host, heloName, security, mechanism, subjectPrefix string
	port                                               int
	from                                               *mail.Address
	to                                                 []*mail.Address
	timeout                                            time.Duration
	tlsConfig                                          *tls.Config
	policy                                             httpx.GuardPolicy
	credentialRef                                      string
	credentials                                        connectors.CredentialSource
	now                                                func() time.Time
}

var (
	_ connectors.Checker  = (*Connector)(nil)
	_ connectors.Notifier = (*Connector)(nil)
)

// New builds a connector; a config that cannot work is INVALID_CONFIG.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	c := &Connector{
		host: strings.TrimSpace(cfg.String("host")), port: cfg.Int("port"),
		security: cfg.String("security"), mechanism: cfg.String("authMechanism"),
		heloName: cfg.String("heloName"), subjectPrefix: cfg.String("subjectPrefix"),
		timeout: cfg.Duration("timeout", time.Second), policy: in.Policy,
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials, now: time.Now,
	}
	if c.host == "" || strings.ContainsAny(c.host, " /:@") && net.ParseIP(c.host) == nil {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"host\" must be a host name or IP address")
	}
	if c.port < 1 || c.port > 65535 {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"port\" must be 1..65535")
	}
	if c.security == SecurityNone && c.credentialRef != "" {
		return nil, resilience.New(resilience.InvalidConfig, "security \"none\" would send the credentials in clear text: use starttls or tls")
	}
	var err error
	if c.from, err = mail.ParseAddress(cfg.String("from")); err != nil {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"from\" is not an email address")
	}
	if c.to, err = parseRecipients(strings.Join(cfg.Strings("to"), ",")); err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "config field \"to\"")
	}
	if c.tlsConfig, err = tlsConfig(cfg, c.host); err != nil {
		return nil, err
	}
	return c, nil
}

func tlsConfig(cfg connectors.Values, host string) (*tls.Config, error) {
	t := &tls.Config{
		ServerName: host, MinVersion: tls.VersionTLS12,
		InsecureSkipVerify: cfg.Bool("insecureSkipVerify"), //nolint:gosec // the operator's per-integration choice
	}
	if ca := cfg.String("caCert"); ca != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return nil, resilience.New(resilience.InvalidConfig, "config field \"caCert\" holds no PEM certificate")
		}
		t.RootCAs = pool
	}
	return t, nil
}

// parseRecipients reads a comma-separated address list, bounded.
func parseRecipients(s string) ([]*mail.Address, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no recipient")
	}
	list, err := mail.ParseAddressList(s)
	if err != nil {
		return nil, errors.New("not a list of email addresses")
	}
	if len(list) > maxRecipients {
		return nil, fmt.Errorf("more than %d recipients", maxRecipients)
	}
	return list, nil
}

// ParseRecipients is what a rule's channel must be for this provider: a
// comma-separated list of addresses.
func ParseRecipients(s string) error {
	_, err := parseRecipients(s)
	return err
}

// Close holds nothing: each call opens its own SMTP session.
func (c *Connector) Close() error { return nil }

// CheckConnectivity connects, says EHLO and starts TLS when required.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.session(ctx, false, func(*smtp.Client) error { return nil })
}

// CheckAuthentication also authenticates.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	return c.session(ctx, true, func(*smtp.Client) error { return nil })
}

// CheckFunctionality also has the server accept the envelope of a message
// to every configured recipient, then resets it: nothing is sent.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	return c.session(ctx, true, func(sc *smtp.Client) error {
		if err := sc.Mail(c.from.Address); err != nil {
			return c.classify("MAIL FROM at", err)
		}
		for _, r := range c.to {
			if err := sc.Rcpt(r.Address); err != nil {
				return c.classify("RCPT TO at", err)
			}
		}
		if err := sc.Reset(); err != nil {
			return c.classify("RSET at", err)
		}
		return nil
	})
}

// Notify sends the message to the channel's recipients (or the configured
// ones) and returns its Message-ID.
func (c *Connector) Notify(ctx context.Context, m connectors.Message) (string, error) {
	to := c.to
	if strings.TrimSpace(m.Channel) != "" {
		var err error
		if to, err = parseRecipients(m.Channel); err != nil {
			return "", resilience.Wrap(resilience.InvalidConfig, err, "channel")
		}
	}
	subject := notify.Summary(m)
	if subject == "" {
		return "", resilience.New(resilience.InvalidConfig, "an email needs a title or text for its subject")
	}
	if c.subjectPrefix != "" {
		subject = c.subjectPrefix + " " + subject
	}
	domain := c.from.Address[strings.LastIndex(c.from.Address, "@")+1:]
	out := outgoing{
		From: c.from, To: to, Subject: subject, Text: m.Text, HTML: notify.String(m, notify.KeyHTML),
		Severity: m.Severity, MessageID: "<" + uuid.NewString() + "@" + domain + ">", Date: c.now(),
		Attachments: notify.Attachments(m),
	}
	if out.Text == "" {
		out.Text = m.Title
	}
	if isMessageID(m.ThreadKey) {
		out.InReplyTo = m.ThreadKey
	}
	body, err := out.build()
	if err != nil {
		return "", resilience.Wrap(resilience.InvalidConfig, err, "build the email")
	}
	err = c.session(ctx, true, func(sc *smtp.Client) error {
		if err := sc.Mail(c.from.Address); err != nil {
			return c.classify("MAIL FROM at", err)
		}
		for _, r := range to {
			if err := sc.Rcpt(r.Address); err != nil {
				return c.classify("RCPT TO at", err)
			}
		}
		w, err := sc.Data()
		if err != nil {
			return c.classify("DATA at", err)
		}
		if _, err := w.Write(body); err != nil {
			return c.classify("send the message to", err)
		}
		if err := w.Close(); err != nil {
			return c.classify("end of DATA at", err)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("send the email: %w", err)
	}
	return out.MessageID, nil
}

// isMessageID reports whether s has the shape of a Message-ID.
func isMessageID(s string) bool {
	return len(s) > 4 && len(s) <= 998 && s[0] == '<' && s[len(s)-1] == '>' && strings.Contains(s, "@") && !strings.ContainsAny(s, " \r\n")
}

// session opens an SMTP session (connect, EHLO, STARTTLS when required,
// AUTH when auth is true and credentials are set), runs fn and quits. The
// configured timeout bounds the whole session, and so does the caller's
// context when it ends sooner: a caller's longer deadline (the health
// scheduler's) must not let a server that never answers hold a check.
func (c *Connector) session(ctx context.Context, auth bool, fn func(*smtp.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var creds *basic
	if auth && c.credentialRef != "" {
		var err error
		if creds, err = c.basic(ctx); err != nil {
			return err
		}
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	wrap := func(step string, err error) error {
		if ctx.Err() != nil {
			return c.classify(step, context.DeadlineExceeded)
		}
		return c.classify(step, err)
	}
	sc, err := smtp.NewClient(conn, c.host)
	if err != nil {
		return wrap("greeting from", err)
	}
	defer sc.Close()
	if err := sc.Hello(c.heloName); err != nil {
		return wrap("EHLO at", err)
	}
	if c.security == SecurityStartTLS {
		if ok, _ := sc.Extension("STARTTLS"); !ok {
			return resilience.New(resilience.InvalidConfig,
				"%s:%d does not offer STARTTLS, which security \"starttls\" requires (use \"tls\" for implicit TLS)", c.host, c.port)
		}
		if err := sc.StartTLS(c.tlsConfig); err != nil {
			return wrap("STARTTLS with", err)
		}
	}
	if creds != nil {
		a, err := c.authFor(sc, creds)
		if err != nil {
			return err
		}
		if err := sc.Auth(a); err != nil {
			return wrap("AUTH at", err)
		}
	}
	if err := fn(sc); err != nil {
		return err
	}
	// The work is done; a server that hangs up without 221 is no failure.
	_ = sc.Quit()
	return nil
}

type basic struct{ user, password string }

func (c *Connector) basic(ctx context.Context) (*basic, error) {
	s, err := kit.Resolve(ctx, c.credentials, c.credentialRef, "the SMTP credentials")
	if err != nil {
		return nil, err
	}
	user, password, err := s.Basic()
	if err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "SMTP credentials")
	}
	return &basic{user: user, password: password}, nil
}

// authFor picks the mechanism: the configured one, or PLAIN when offered
// and LOGIN otherwise.
func (c *Connector) authFor(sc *smtp.Client, b *basic) (smtp.Auth, error) {
	ok, offered := sc.Extension("AUTH")
	if !ok {
		return nil, resilience.New(resilience.InvalidConfig, "%s:%d offers no AUTH but credentials are configured", c.host, c.port)
	}
	mechs := strings.Fields(strings.ToUpper(offered))
	has := func(m string) bool {
		for _, x := range mechs {
			if x == m {
				return true
			}
		}
		return false
	}
	plain := smtp.PlainAuth("", b.user, b.password, c.host)
	switch c.mechanism {
	case MechanismPlain:
		return plain, nil
	case MechanismLogin:
		return &loginAuth{user: b.user, password: b.password}, nil
	}
	switch {
	case has("PLAIN"):
		return plain, nil
	case has("LOGIN"):
		return &loginAuth{user: b.user, password: b.password}, nil
	}
	return nil, resilience.New(resilience.InvalidConfig, "%s:%d offers AUTH %s; the connector speaks PLAIN and LOGIN", c.host, c.port, offered)
}

// loginAuth is the LOGIN mechanism, which net/smtp lacks. Like PlainAuth
// it refuses to send credentials over an unencrypted connection.
type loginAuth struct {
	user, password string
	step           int
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS {
		return "", nil, resilience.New(resilience.InvalidConfig, "refusing AUTH LOGIN over an unencrypted connection")
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.user), nil
	case 2:
		return []byte(a.password), nil
	}
	return nil, errors.New("unexpected AUTH LOGIN challenge")
}
