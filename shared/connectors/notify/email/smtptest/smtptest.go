// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) in
// process for tests: STARTTLS with a certificate generated for 127.0.0.1
// and localhost (CAPEM to trust it), AUTH PLAIN and LOGIN offered only
// after STARTTLS, as a submission server does, mail accepted only from an
// authenticated session when credentials are set, and every message kept
// with its envelope so tests can assert what arrived.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure the server.
type Options struct {
	// Username and Password are the accepted credentials; empty offers no
	// AUTH and accepts mail from anyone.
	Username, Password string
	// NoStartTLS offers no STARTTLS (a plaintext relay).
	NoStartTLS bool
	// Mechanisms offered (default PLAIN and LOGIN).
	Mechanisms []string
	// RejectRecipients answer RCPT with 550 5.1.1.
	RejectRecipients []string
	// MaxMessageBytes bounds a message (default 10 MiB).
	MaxMessageBytes int64
}

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data []byte
	// TLS says the session was encrypted; User is who authenticated.
	TLS  bool
	User string
}

// Server is a running SMTP server.
type Server struct {
	// Host and Port to dial; Addr is host:port.
	Host string
	Port int
	Addr string
	// CAPEM is the PEM certificate clients trust (caCert).
	CAPEM string

	opts Options
	srv  *smtp.Server

	mu           sync.Mutex
	messages     []Message
	sessions     int
	authFailures int
	probes       int // transactions reset after RCPT without DATA
	tempFail     int
	arrived      chan struct{}
}

// Start runs a server on 127.0.0.1 for the life of t.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if len(opts.Mechanisms) == 0 {
		opts.Mechanisms = []string{sasl.Plain, sasl.Login}
	}
	if opts.MaxMessageBytes == 0 {
		opts.MaxMessageBytes = 10 << 20
	}
	certPEM, cert, err := selfSigned()
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	s := &Server{opts: opts, CAPEM: string(certPEM), arrived: make(chan struct{}, 1)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.sessions++
		s.mu.Unlock()
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "mail.inthub.test"
	srv.MaxMessageBytes = opts.MaxMessageBytes
	srv.MaxRecipients = 50
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = discardLogger{}
	if !opts.NoStartTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.srv = srv
	s.Addr = l.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...interface{}) {}
func (discardLogger) Println(...interface{})        {}

// TempFail makes the next n messages answer 451 4.3.0 at DATA.
func (s *Server) TempFail(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tempFail = n
}

// Messages returns the accepted messages.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Wait returns once n messages arrived, or fails t after timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if msgs := s.Messages(); len(msgs) >= n {
			return msgs
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("smtptest: %d messages after %s, want %d", len(s.Messages()), timeout, n)
		}
	}
}

// Stats returns the SMTP sessions opened, the failed AUTH attempts, and the
// transactions reset after RCPT without DATA (delivery probes).
func (s *Server) Stats() (sessions, authFailures, probes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions, s.authFailures, s.probes
}

// session is one SMTP session.
type session struct {
	srv  *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

// AuthMechanisms implements smtp.AuthSession.
func (s *session) AuthMechanisms() []string {
	if s.srv.opts.Username == "" {
		return nil
	}
	return s.srv.opts.Mechanisms
}

// Auth implements smtp.AuthSession.
func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		if username != s.srv.opts.Username || password != s.srv.opts.Password {
			s.srv.mu.Lock()
			s.srv.authFailures++
			s.srv.mu.Unlock()
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}
	if !slices.Contains(s.srv.opts.Mechanisms, mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return smtp.ErrAuthFailed
			}
			return check(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.Username != "" && s.user == "" {
		return errAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if slices.Contains(s.srv.opts.RejectRecipients, to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.tempFail > 0 {
		s.srv.tempFail--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem, try again"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.messages = append(s.srv.messages, Message{From: s.from, To: slices.Clone(s.to), Data: b, TLS: isTLS, User: s.user})
	s.from, s.to = "", nil
	select {
	case s.srv.arrived <- struct{}{}:
	default:
	}
	return nil
}

// Reset counts a transaction abandoned after its recipients (a probe).
func (s *session) Reset() {
	if s.from != "" && len(s.to) > 0 {
		s.srv.mu.Lock()
		s.srv.probes++
		s.srv.mu.Unlock()
	}
	s.from, s.to = "", nil
}

func (s *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism (draft-murchison-
// sasl-login), which go-sasl implements for clients only.
type loginServer struct {
	check    func(username, password string) error
	username string
	step     int
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 { // initial response carries the username
			l.username = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.username = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.username, string(response))
	}
	return nil, false, errors.New("unexpected client response")
}

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost.
func selfSigned() ([]byte, tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	return certPEM, cert, err
}
