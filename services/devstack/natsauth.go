package devstack

//go:generate go run ./cmd/natsauth ../../deployments/nats/auth.conf

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/server"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/services/manager"
	metricsanalyzer "github.com/stella-ops/inthub/services/metrics-analyzer"
	"github.com/stella-ops/inthub/services/notifier"
	pipelinerunner "github.com/stella-ops/inthub/services/pipeline-runner"
	"github.com/stella-ops/inthub/shared/bus"
)

// AdminUser is the operator's NATS user of auth.conf: every right, for the
// nats CLI (backups, stream reports) and the tests' own connections. No
// service connects as it.
const AdminUser = "inthub-admin"

// Accesses are every service's declarations on the bus (its route table
// and buckets), from which the NATS users of auth.conf are derived.
func Accesses() []bus.Access {
	return []bus.Access{
		manager.Access(), healthscheduler.Access(), discoveryworker.Access(), notifier.Access(),
		pipelinerunner.Access(), metricsanalyzer.Access(), ingress.Access(),
	}
}

// PasswordVar is the variable that holds user's password in auth.conf:
// INTHUB_NATS_PASSWORD_<USER>, dashes as underscores. nats-server reads it
// from its environment (or from a variable defined before the include).
func PasswordVar(user string) string {
	return "INTHUB_NATS_PASSWORD_" + strings.ToUpper(strings.ReplaceAll(user, "-", "_"))
}

// AuthConf renders deployments/nats/auth.conf: an authorization block with
// one user per service, whose permissions are derived from the service's
// declarations (bus.Access.Permissions), and the operator's user. Passwords
// are variables, never values: the file holds no secret.
func AuthConf() []byte {
	var b strings.Builder
	b.WriteString(`# NATS users of the Integration Hub: one per service, each allowed exactly the
# subjects, streams, consumers and KV buckets its code declares (its route table
# and buckets), and inthub-admin for operators (every right).
#
# Generated from the services' declarations; do not edit. Regenerate with
#   go generate ./services/devstack
# (a test fails while this file differs from what the code declares).
#
# Include it from the server's configuration (include ./auth.conf) and give the
# server one password per user in its environment; each service connects with
# INTHUB_NATS_USER=<its name> and INTHUB_NATS_PASSWORD (or _PASSWORD_FILE) set
# to its password. Replies to the requests a service serves are allowed by
# allow_responses; each service's own reply inboxes are _INBOX.<its name>.>.
authorization {
  users = [
`)
	for _, a := range Accesses() {
		p := a.Permissions()
		fmt.Fprintf(&b, "    {\n      user: %q\n      password: $%s\n      permissions: {\n", a.Service, PasswordVar(a.Service))
		writeList(&b, "publish", p.Publish)
		writeList(&b, "subscribe", p.Subscribe)
		b.WriteString("        allow_responses: true\n      }\n    }\n")
	}
	fmt.Fprintf(&b, "    {\n      user: %q\n      password: $%s\n    }\n", AdminUser, PasswordVar(AdminUser))
	b.WriteString("  ]\n}\n")
	return []byte(b.String())
}

func writeList(b *strings.Builder, name string, subjects []string) {
	fmt.Fprintf(b, "        %s: {\n          allow: [\n", name)
	for _, s := range subjects {
		fmt.Fprintf(b, "            %s\n", strconv.Quote(s))
	}
	b.WriteString("          ]\n        }\n")
}

// natsUsers is who connects to the embedded server: a fresh random
// password for each user of AuthConf.
type natsUsers map[string]string

func newNATSUsers() (natsUsers, error) {
	u := natsUsers{}
	for _, a := range Accesses() {
		u[a.Service] = ""
	}
	u[AdminUser] = ""
	for name := range u {
		raw := make([]byte, 18)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		u[name] = hex.EncodeToString(raw)
	}
	return u, nil
}

// serverOptions are the embedded server's users: AuthConf itself, its
// password variables defined ahead of it, so `make run` enforces the very
// permissions the shipped file does.
func (u natsUsers) serverOptions() (*server.Options, error) {
	var b strings.Builder
	for name, pw := range u {
		fmt.Fprintf(&b, "%s: %q\n", PasswordVar(name), pw)
	}
	b.Write(AuthConf())
	opts := &server.Options{}
	if err := opts.ProcessConfigString(b.String()); err != nil {
		return nil, fmt.Errorf("embedded NATS users: %w", err)
	}
	return opts, nil
}

// identities are the services' bus identities for Config.NATSIdentities.
func (u natsUsers) identities() map[string]bus.Auth {
	out := map[string]bus.Auth{}
	for _, a := range Accesses() {
		out[a.Service] = bus.Auth{User: a.Service, Password: u[a.Service]}
	}
	return out
}

// adminURL is clientURL with the operator's user and password.
func (u natsUsers) adminURL(clientURL string) string {
	parsed, err := url.Parse(clientURL)
	if err != nil {
		return clientURL
	}
	parsed.User = url.UserPassword(AdminUser, u[AdminUser])
	return parsed.String()
}
