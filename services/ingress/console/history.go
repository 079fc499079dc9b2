package console

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
)

// History bounds: the page shows the latest maxHistory changes, found in at
// most maxHistoryPages pages of the audit query (oldest first).
const (
	maxHistory      = 50
	maxHistoryPages = 10
)

// historyEntry is one change as the integration page shows it.
type historyEntry struct {
	At       time.Time
	Action   string
	Actor    string
	Revision uint64
	Changes  []historyChange
}

// historyChange is one field a change touched. Old and New are shown only
// when Omitted is empty.
type historyChange struct {
	Field, Old, New, Omitted string
}

// history reads the audit records of one resource through the API's own
// audit handler (so the session's tenant and role decide what it sees),
// newest first, at most maxHistory. It also reports whether older records
// were left out.
func (s *session) history(resourceType, id string) ([]contracts.AuditRecord, bool, error) {
	q := url.Values{"resourceType": {resourceType}, "resourceId": {id}, "limit": {"500"}}
	var recs []contracts.AuditRecord
	more := false
	for range maxHistoryPages {
		var page contracts.AuditPage
		if _, err := s.api.do("GET", "/api/v1/audit", q, nil, &page); err != nil {
			return nil, false, err
		}
		recs = append(recs, page.Items...)
		if len(recs) > maxHistory {
			recs = recs[len(recs)-maxHistory:]
			more = true
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			break
		}
		q.Set("cursor", page.NextCursor)
	}
	slices.Reverse(recs)
	return recs, more, nil
}

// actorText names who made a change.
func actorText(a *contracts.Actor) string {
	switch {
	case a == nil:
		return "unknown"
	case a.Issuer != "":
		return a.Name + " (" + a.Issuer + ")"
	case a.Kind == contracts.ActorService:
		return a.Name + " (service)"
	default:
		return a.Name
	}
}

// historyOf turns audit records into the page's rows. The audit records
// already omit secret values; the console also hides the values of any
// field p declares secret that is not a credential reference, so a record
// written before a field became secret still shows nothing.
func historyOf(p contracts.ProviderInfo, recs []contracts.AuditRecord) []historyEntry {
	secret := map[string]bool{"credentialRef": true}
	for _, f := range p.ConfigFields {
		if f.Secret {
			secret["config."+f.Name] = true
		}
	}
	out := make([]historyEntry, 0, len(recs))
	for _, r := range recs {
		e := historyEntry{At: r.OccurredAt, Action: r.Action, Actor: actorText(r.Actor), Revision: r.Revision}
		for _, c := range r.Changes {
			hc := historyChange{Field: c.Field, Omitted: c.ValuesOmitted}
			if hc.Omitted == "" {
				hc.Old, hc.New = changeValue(c.Old), changeValue(c.New)
				if secret[c.Field] && !(refOrEmpty(hc.Old) && refOrEmpty(hc.New)) {
					hc.Old, hc.New, hc.Omitted = "", "", contracts.OmittedSecret
				}
			}
			e.Changes = append(e.Changes, hc)
		}
		out = append(out, e)
	}
	return out
}

func refOrEmpty(v string) bool { return v == "" || credentials.IsRef(v) }

// changeValue shows a value of a change, bounded: the audit record keeps
// small values only, but the page stays short either way.
func changeValue(v any) string {
	s := strings.ReplaceAll(valueText(v), "\n", ", ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
