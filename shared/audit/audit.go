// Package audit records who changed a catalog resource (an integration, a
// notification rule), when and what: the writer stores a Stamp with each
// change (in the KV value, or on a delete marker's header), and an outbox
// reading the bucket's own stream publishes one contracts.AuditRecord per
// stored change to INTHUB_AUDIT, under a message id made of the change's
// revision. So a crash between the write and the publish loses nothing
// (the change is redelivered) and a republish is stored once (the stream's
// duplicate window, and past it a look at the subject's last record).
package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Stamp is what a writer stores with a change for its audit record.
type Stamp struct {
	// Action is created, updated or deleted.
	Action string `json:"action,omitempty"`
	// Actor is who asked for the change.
	Actor *contracts.Actor `json:"actor,omitempty"`
	// Changes are the fields the change set, secret values left out.
	Changes []contracts.FieldChange `json:"changes,omitempty"`
}

// HeaderStamp carries a Stamp (as JSON) on a KV delete marker, which has
// no body to hold it.
const HeaderStamp = "Inthub-Audit"

// MaxValueBytes bounds the JSON of one old or new value kept in a change;
// a longer one is recorded as changed with ValuesOmitted too-large, so a
// record (and the KV value holding its stamp) stays far below NATS's
// message size.
const MaxValueBytes = 1024

// maxActorName bounds an actor's name and issuer.
const maxActorName = 256

// CheckActor refuses an actor a bus caller made up badly: an unknown kind,
// an empty or overlong name, control characters. nil is allowed (a bus
// caller that does not say who it is).
func CheckActor(a *contracts.Actor) error {
	if a == nil {
		return nil
	}
	bad := func(field, format string, args ...any) error {
		return apierr.New(http.StatusBadRequest, apierr.InvalidFieldValue, format, args...).With("field", field)
	}
	switch a.Kind {
	case contracts.ActorToken, contracts.ActorOIDC, contracts.ActorService:
	default:
		return bad("actor.kind", "actor.kind must be token, oidc or service")
	}
	for field, v := range map[string]string{"actor.name": a.Name, "actor.issuer": a.Issuer} {
		if field == "actor.name" && v == "" {
			return bad(field, "actor.name is required")
		}
		if len(v) > maxActorName || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return bad(field, "%s must be at most %d characters without control characters", field, maxActorName)
		}
	}
	return nil
}

// Fields says how Diff reads a resource's JSON.
type Fields struct {
	// Skip are top-level members that are not the caller's to change (id,
	// tenant, timestamps, revision) or not part of the record (health).
	Skip []string
	// Expand are members holding maps whose keys are compared one by one
	// ("config" gives config.url, config.timeout, ...).
	Expand []string
	// Secret reports fields whose values must never be recorded.
	Secret func(field string) bool
}

// Diff returns the fields that differ between before and after (each a
// struct or map that marshals to a JSON object; before nil for a create),
// sorted by field, values left out where Secret says so or where they are
// too long.
func (f Fields) Diff(before, after any) []contracts.FieldChange {
	b, a := object(before), object(after)
	var out []contracts.FieldChange
	for _, k := range keys(b, a) {
		if slices.Contains(f.Skip, k) {
			continue
		}
		if slices.Contains(f.Expand, k) {
			bm, _ := b[k].(map[string]any)
			am, _ := a[k].(map[string]any)
			for _, sub := range keys(bm, am) {
				out = f.change(out, k+"."+sub, bm[sub], am[sub])
			}
			continue
		}
		out = f.change(out, k, b[k], a[k])
	}
	slices.SortFunc(out, func(x, y contracts.FieldChange) int { return strings.Compare(x.Field, y.Field) })
	return out
}

// change appends field's change when old and new differ.
func (f Fields) change(out []contracts.FieldChange, field string, old, new any) []contracts.FieldChange {
	old, new = unset(old), unset(new)
	if reflect.DeepEqual(old, new) {
		return out
	}
	c := contracts.FieldChange{Field: field, Old: old, New: new}
	switch {
	case f.Secret != nil && f.Secret(field):
		c.Old, c.New, c.ValuesOmitted = nil, nil, contracts.OmittedSecret
	case tooLarge(old) || tooLarge(new):
		c.Old, c.New, c.ValuesOmitted = nil, nil, contracts.OmittedTooLarge
	}
	return append(out, c)
}

// unset maps the values a JSON document holds for "not set" ("", null, {}
// and []) to nil, so setting a field to one of them from nothing is no change.
func unset(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
	case map[string]any:
		if len(x) == 0 {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
	}
	return v
}

func tooLarge(v any) bool {
	switch x := v.(type) {
	case nil, bool:
		return false
	case json.Number:
		return len(x) > MaxValueBytes
	case string:
		// Encoded, a byte takes at most 6 (\u00XX) and the quotes 2: a
		// string short enough is not measured by encoding it (every
		// field of every create was).
		if 6*len(x)+2 <= MaxValueBytes {
			return false
		}
	}
	b, err := json.Marshal(v)
	return err != nil || len(b) > MaxValueBytes
}

// object is v as a JSON object (nil v, or one that is no object, is empty).
func object(v any) map[string]any {
	out := map[string]any{}
	if v == nil {
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&out)
	return out
}

// keys is the sorted union of the maps' keys.
func keys(a, b map[string]any) []string {
	var out []string
	for k := range a {
		out = append(out, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// RecordID is an audit record's id and message id:
// <resourceType>:<resourceId>:<revision>.
func RecordID(resourceType, resourceID string, revision uint64) string {
	return fmt.Sprintf("%s:%s:%d", resourceType, resourceID, revision)
}
