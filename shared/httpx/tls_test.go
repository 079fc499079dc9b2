package httpx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/resilience"
)

// serverCAPEM is the PEM of an httptest TLS server's self-signed certificate.
func serverCAPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// clientIdentity makes a self-signed client certificate and its key, in PEM.
func clientIdentity(t *testing.T, cn string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), cert
}

// newMTLSServer is an unstarted TLS server that requires a client
// certificate issued by one of cas and answers "hello <its common name>".
func newMTLSServer(cas ...*x509.Certificate) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello "+r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	pool := x509.NewCertPool()
	for _, ca := range cas {
		pool.AddCert(ca)
	}
	srv.Config.ErrorLog = quietLog
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	return srv
}

// quietLog drops the server's log of handshakes the tests make fail.
var quietLog = log.New(io.Discard, "", 0)

var loopbackOnly = GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}

func TestTLSOptions(t *testing.T) {
	t.Parallel()
	plain := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	plain.Config.ErrorLog = quietLog // failed handshakes are the point here
	plain.StartTLS()
	t.Cleanup(plain.Close)

	clientCert, clientKey, clientCA := clientIdentity(t, "inthub-connector")
	otherCert, otherKey, _ := clientIdentity(t, "stranger")
	mtls := newMTLSServer(clientCA)
	mtls.StartTLS()
	t.Cleanup(mtls.Close)

	tests := []struct {
		name     string
		srv      *httptest.Server
		opts     Options
		wantBody string
		wantMsg  string // error substring; the code is CONNECTION_REFUSED
	}{
		{name: "custom CA", srv: plain, opts: Options{CACertPEM: serverCAPEM(plain)}, wantBody: "ok"},
		{name: "no CA", srv: plain, wantMsg: "TLS verification failed"},
		{name: "insecure skip verify", srv: plain, opts: Options{InsecureSkipVerify: true}, wantBody: "ok"},
		{name: "client certificate presented", srv: mtls,
			opts:     Options{CACertPEM: serverCAPEM(mtls), ClientCertPEM: clientCert, ClientKeyPEM: clientKey},
			wantBody: "hello inthub-connector"},
		{name: "no client certificate", srv: mtls, opts: Options{CACertPEM: serverCAPEM(mtls)},
			wantMsg: "TLS handshake failed"},
		{name: "untrusted client certificate", srv: mtls,
			opts:    Options{CACertPEM: serverCAPEM(mtls), ClientCertPEM: otherCert, ClientKeyPEM: otherKey},
			wantMsg: "TLS handshake failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Policy = loopbackOnly
			c := newTestClient(t, tc.opts)
			resp, err := do(t, c, tc.srv.URL+"/")
			if tc.wantMsg != "" {
				if err == nil {
					t.Fatalf("status %d, want an error", resp.StatusCode)
				}
				if code := codeOf(t, err); code != resilience.ConnectionRefused || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("err = %v, want CONNECTION_REFUSED with %q", err, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, resp); body != tc.wantBody {
				t.Errorf("body = %q, want %q", body, tc.wantBody)
			}
		})
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	cert, key, _ := clientIdentity(t, "a")
	_, otherKey, _ := clientIdentity(t, "b")
	tests := []struct {
		name    string
		opts    Options
		wantMsg string
	}{
		{"negative timeout", Options{Timeout: -time.Second}, "timeout -1s is negative"},
		{"CA is not PEM", Options{CACertPEM: []byte("not a certificate")}, "no PEM certificate"},
		{"certificate without key", Options{ClientCertPEM: cert}, "must be given together"},
		{"key without certificate", Options{ClientKeyPEM: key}, "must be given together"},
		{"key does not match", Options{ClientCertPEM: cert, ClientKeyPEM: otherKey}, "client certificate"},
		{"invalid prefix", Options{Policy: GuardPolicy{AllowCIDRs: []netip.Prefix{{}}}}, "not valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.opts)
			if err == nil || resilience.CodeOf(err) != resilience.InvalidConfig || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want INVALID_CONFIG containing %q", err, tc.wantMsg)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error quotes key material: %v", err)
			}
		})
	}
}
