package ingress

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// RoleOperator may use the operator endpoints (events, dead letters).
const RoleOperator = "operator"

// Principal is who a bearer token stands for.
type Principal struct {
	Name     string   `json:"name"`
	TenantID string   `json:"tenantId"`
	Roles    []string `json:"roles,omitempty"`
	// Subject, Issuer and Expiry are an OIDC token's (Name is then its
	// subject too); a tokens file cannot set them.
	Subject string    `json:"-"`
	Issuer  string    `json:"-"`
	Expiry  time.Time `json:"-"`
}

// HasRole reports whether p holds role.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// TokenEntry is one configured token: only its SHA-256 is kept.
type TokenEntry struct {
	Principal
	SHA256 string `json:"sha256"`
}

// Tokens maps token hashes to principals. Tokens are stored hashed so a
// leaked configuration does not leak credentials.
type Tokens struct {
	byHash map[[32]byte]Principal
	// What the set was loaded from, so Reload can read it again: the file,
	// its content's digest when read, the spec string, and the entries
	// added in code (the devstack's dev token) that a reload keeps.
	file   string
	digest [32]byte
	spec   string
	extra  []TokenEntry
}

// NewTokens validates entries and indexes them.
func NewTokens(entries []TokenEntry) (*Tokens, error) {
	t := &Tokens{byHash: map[[32]byte]Principal{}}
	for i, e := range entries {
		raw, err := hex.DecodeString(strings.TrimPrefix(e.SHA256, "sha256:"))
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("token %d (%s): sha256 must be 64 hex characters", i, e.Name)
		}
		if _, err := uuid.Parse(e.TenantID); err != nil {
			return nil, fmt.Errorf("token %d (%s): tenantId must be a UUID", i, e.Name)
		}
		for _, r := range e.Roles {
			if r != RoleOperator {
				return nil, fmt.Errorf("token %d (%s): unknown role %q (known: %s)", i, e.Name, r, RoleOperator)
			}
		}
		t.byHash[[32]byte(raw)] = e.Principal
	}
	return t, nil
}

// With returns the tokens of t (none when t is nil) and entries, validated
// as NewTokens does: the devstack adds its dev token to the configured ones.
func (t *Tokens) With(entries ...TokenEntry) (*Tokens, error) {
	out, err := NewTokens(entries)
	if err != nil || t == nil {
		if out != nil {
			out.extra = entries
		}
		return out, err
	}
	out.file, out.digest, out.spec = t.file, t.digest, t.spec
	out.extra = append(slices.Clone(t.extra), entries...)
	for hash, p := range t.byHash {
		if _, taken := out.byHash[hash]; !taken {
			out.byHash[hash] = p
		}
	}
	return out, nil
}

// HashToken returns the hex SHA-256 of a token, as the configuration holds it.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Lookup returns the principal of a presented token.
func (t *Tokens) Lookup(token string) (Principal, bool) {
	if token == "" || t == nil {
		return Principal{}, false
	}
	// Keyed by the token's hash: lookup time says nothing useful about the
	// token, so no constant-time compare is needed.
	p, ok := t.byHash[sha256.Sum256([]byte(token))]
	return p, ok
}

// LoadTokens reads tokens from a JSON file ({"tokens":[...]}) and from a
// spec string "name:tenantId:sha256[:role+role],..." (INTHUB_TOKENS).
func LoadTokens(file, spec string) (*Tokens, error) {
	var entries []TokenEntry
	var digest [32]byte
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("tokens file: %w", err)
		}
		digest = sha256.Sum256(b)
		var doc struct {
			Tokens []TokenEntry `json:"tokens"`
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("tokens file %s: %w", file, err)
		}
		entries = append(entries, doc.Tokens...)
	}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		parts := strings.Split(item, ":")
		if len(parts) < 3 || len(parts) > 4 {
			return nil, errors.New("INTHUB_TOKENS entries are name:tenantId:sha256[:role+role]")
		}
		e := TokenEntry{Principal: Principal{Name: parts[0], TenantID: parts[1]}, SHA256: parts[2]}
		if len(parts) == 4 && parts[3] != "" {
			e.Roles = strings.Split(parts[3], "+")
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, errors.New("no API tokens configured: set INTHUB_TOKENS or INTHUB_TOKENS_FILE")
	}
	t, err := NewTokens(entries)
	if err != nil {
		return nil, err
	}
	t.file, t.digest, t.spec = file, digest, spec
	return t, nil
}

// File is the tokens file the set was loaded from ("" when none).
func (t *Tokens) File() string {
	if t == nil {
		return ""
	}
	return t.file
}

// Len is how many tokens the set holds.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.byHash)
}

// Reload reads the tokens file again. When its content changed it returns
// the new set (the spec string's tokens and those added with With kept)
// and true; when it did not, t and false. A file that no longer reads or
// validates is an error and t stays what the caller serves: a half-written
// file must not lock everybody out.
func (t *Tokens) Reload() (*Tokens, bool, error) {
	if t == nil || t.file == "" {
		return t, false, nil
	}
	b, err := os.ReadFile(t.file)
	if err != nil {
		return t, false, fmt.Errorf("tokens file: %w", err)
	}
	if sha256.Sum256(b) == t.digest {
		return t, false, nil
	}
	fresh, err := LoadTokens(t.file, t.spec)
	if err != nil {
		return t, false, err
	}
	if len(t.extra) > 0 {
		if fresh, err = fresh.With(t.extra...); err != nil {
			return t, false, err
		}
	}
	return fresh, true, nil
}
