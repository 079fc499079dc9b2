package bus

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
)

// Auth is how a service proves its NATS identity and secures the
// connection. At most one identity: a user and password, an nkey seed file,
// or a credentials file (a user JWT and its seed, for an operator-mode
// server). TLS is on when CAFile or CertFile is set, or the URL is tls://.
type Auth struct {
	// User and Password: the user of the server's authorization block
	// (deployments/nats/auth.conf names one per service).
	User, Password string
	// NKeySeedFile is a file holding the user's nkey seed (SU...).
	NKeySeedFile string
	// CredsFile is a .creds file (user JWT and seed).
	CredsFile string
	// CAFile verifies the server's certificate; CertFile and KeyFile are
	// the client certificate (mutual TLS).
	CAFile, CertFile, KeyFile string
}

// Validate reports settings that cannot work together: more than one
// identity. A user without its password (or a client certificate without
// its key) is refused by the server or the TLS set-up when connecting,
// with an error that says so.
func (a Auth) Validate() error {
	ids := 0
	for _, set := range []bool{a.User != "" || a.Password != "", a.NKeySeedFile != "", a.CredsFile != ""} {
		if set {
			ids++
		}
	}
	if ids > 1 {
		return errors.New("bus: NATS identity: set one of user and password, an nkey seed file or a credentials file")
	}
	return nil
}

// options are the connect options of a.
func (a Auth) options() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case a.User != "" || a.Password != "":
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	case a.NKeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(a.NKeySeedFile)
		if err != nil {
			// The error names the file, never its content.
			return nil, fmt.Errorf("NATS nkey seed %s: %w", a.NKeySeedFile, err)
		}
		opts = append(opts, o)
	case a.CredsFile != "":
		if _, err := os.Stat(a.CredsFile); err != nil {
			return nil, fmt.Errorf("NATS credentials file: %w", err)
		}
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	}
	if a.CAFile != "" || a.CertFile != "" {
		opts = append(opts, nats.Secure())
	}
	if a.CAFile != "" {
		opts = append(opts, nats.RootCAs(a.CAFile))
	}
	if a.CertFile != "" {
		opts = append(opts, nats.ClientCert(a.CertFile, a.KeyFile))
	}
	return opts, nil
}

// ReadSecretFile returns the trimmed content of a secret file (a password
// mounted by the orchestrator).
func ReadSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
