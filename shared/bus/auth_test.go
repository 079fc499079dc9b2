package bus

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func TestAuthValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		auth Auth
		ok   bool
	}{
		{"anonymous", Auth{}, true},
		{"user and password", Auth{User: "manager", Password: "pw"}, true},
		{"nkey", Auth{NKeySeedFile: "/run/seed.nk"}, true},
		{"creds", Auth{CredsFile: "/run/user.creds"}, true},
		{"tls only", Auth{CAFile: "/ca.pem", CertFile: "/c.pem", KeyFile: "/k.pem"}, true},
		{"user and nkey", Auth{User: "manager", Password: "pw", NKeySeedFile: "/run/seed.nk"}, false},
		{"nkey and creds", Auth{NKeySeedFile: "/run/seed.nk", CredsFile: "/run/user.creds"}, false},
	}
	for _, tc := range tests {
		if err := tc.auth.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// A seed file that is not one is refused naming the file, never its
// content.
func TestAuthBadSeedFileNamesTheFileOnly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "seed.nk")
	if err := os.WriteFile(path, []byte("not-a-seed-but-a-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Auth{NKeySeedFile: path}.options()
	if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "not-a-seed-but-a-secret") {
		t.Fatalf("error %v", err)
	}
}

// With a user and TLS configured, the bus connects to a server that
// requires both, verifying its certificate with the CA given; without the
// CA, or with a wrong password, it does not.
func TestAuthUserOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, certFile, keyFile := selfSigned(t, dir)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, JetStream: true, StoreDir: t.TempDir(),
		TLS: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		Users: []*server.User{{Username: "manager", Password: "right"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(ns.Shutdown)
	url := "nats://" + ns.Addr().String()
	open := func(a Auth) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b, err := Open(ctx, Config{URL: url, Name: "manager", Auth: a}, slog.New(slog.DiscardHandler))
		if err == nil {
			_ = b.Close()
		}
		return err
	}
	if err := open(Auth{User: "manager", Password: "right", CAFile: caFile}); err != nil {
		t.Fatalf("user over TLS: %v", err)
	}
	if err := open(Auth{User: "manager", Password: "wrong", CAFile: caFile}); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong password: %v", err)
	}
	if err := open(Auth{User: "manager", Password: "right"}); err == nil {
		t.Fatal("connected to a TLS server without verifying it")
	}
}

// selfSigned writes a CA-less self-signed certificate for 127.0.0.1 (its
// own CA) and its key.
func selfSigned(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nats"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, cert, key
}
