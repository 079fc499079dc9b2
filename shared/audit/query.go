package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Bounds of one query.
const (
	DefaultLimit = 50
	MaxLimit     = 500
	// MaxScan bounds the records one query reads when a filter the
	// subject cannot express (actor) skips most of them: the page ends
	// there with a cursor to go on from.
	MaxScan = 5000
	// Budget bounds the time one query reads the stream.
	Budget = 5 * time.Second
)

// Query selects audit records. The subject filter carries the tenant, the
// resource type and the resource id, so the server skips the rest; actor
// is matched on each record read.
type Query struct {
	// TenantID is one tenant's records; empty is every tenant's (only an
	// operator's query may leave it empty).
	TenantID     string
	ResourceType string
	ResourceID   string
	// Actor is the actor's name (token name or OIDC subject).
	Actor string
	// Since starts at the first record stored at or after it.
	Since time.Time
	// Cursor is a NextCursor of an earlier page.
	Cursor string
	// Limit is the page size: 0 is DefaultLimit, at most MaxLimit.
	Limit int
}

func invalidQuery(param, format string, args ...any) error {
	return apierr.BadRequest(apierr.InvalidQuery, format, args...).With("parameter", param)
}

// filter is the subject filter of q, every token checked so that no
// wildcard or dot of a caller's can widen it.
func (q Query) filter() (string, error) {
	uuidToken := func(param, v string) (string, error) {
		if v == "" {
			return "*", nil
		}
		if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
			if param == "tenantId" {
				return "", apierr.BadRequest(apierr.InvalidTenant, "tenantId must be a UUID").With("parameter", param)
			}
			return "", invalidQuery(param, "%s must be a UUID", param)
		}
		return strings.ToLower(v), nil
	}
	tenant, err := uuidToken("tenantId", q.TenantID)
	if err != nil {
		return "", err
	}
	rt := "*"
	if q.ResourceType != "" {
		if !slices.Contains(contracts.AuditResourceTypes, q.ResourceType) {
			return "", invalidQuery("resourceType", "resourceType must be one of %s", strings.Join(contracts.AuditResourceTypes, ", "))
		}
		rt = q.ResourceType
	}
	id, err := uuidToken("resourceId", q.ResourceID)
	if err != nil {
		return "", err
	}
	return contracts.SubjectAudit + "." + tenant + "." + rt + "." + id, nil
}

// EncodeCursor and decodeCursor make the stream sequence a page ends at
// opaque to callers.
func EncodeCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a:" + strconv.FormatUint(seq, 10)))
}

func decodeCursor(c string) (uint64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if s, ok := strings.CutPrefix(string(b), "a:"); ok {
			if n, err := strconv.ParseUint(s, 10, 64); err == nil && n > 0 {
				return n, nil
			}
		}
	}
	return 0, apierr.BadRequest(apierr.InvalidCursor, "cursor is not one this API returned").With("parameter", "cursor")
}

// Read returns one page of the records q selects, oldest first. A page
// holds up to Limit records; NextCursor is set while the stream held more
// when the query ran (also when MaxScan or Budget cut the page short).
func Read(ctx context.Context, js jetstream.JetStream, q Query) (contracts.AuditPage, error) {
	page := contracts.AuditPage{Items: []contracts.AuditRecord{}}
	filter, err := q.filter()
	if err != nil {
		return page, err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 1 || limit > MaxLimit:
		return page, invalidQuery("limit", "limit must be a whole number from 1 to %d", MaxLimit)
	}
	if len(q.Actor) > maxActorName {
		return page, invalidQuery("actor", "actor must be at most %d characters", maxActorName)
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, InactiveThreshold: time.Minute}
	switch {
	case q.Cursor != "" && !q.Since.IsZero():
		return page, invalidQuery("cursor", "cursor and since exclude each other: a cursor goes on where its page ended")
	case q.Cursor != "":
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			return page, err
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	case !q.Since.IsZero():
		since := q.Since
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := js.OrderedConsumer(ctx, bus.StreamAudit, cfg)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return page, nil // nothing was ever recorded
	}
	if err != nil {
		return page, unavailable(err)
	}
	defer func() {
		if info := cons.CachedInfo(); info != nil {
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = js.DeleteConsumer(dctx, bus.StreamAudit, info.Name)
		}
	}()
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		return page, nil
	}
	it, err := cons.Messages(bus.PullOptions(min(limit, 500))...)
	if err != nil {
		return page, unavailable(err)
	}
	defer it.Stop()
	bctx, cancel := context.WithTimeout(ctx, Budget)
	defer cancel()
	var lastSeq uint64
	for scanned := 0; ; scanned++ {
		if scanned == MaxScan {
			page.NextCursor = EncodeCursor(lastSeq)
			return page, nil
		}
		msg, err := it.Next(jetstream.NextContext(bctx))
		if err != nil {
			if ctx.Err() != nil {
				return page, ctx.Err()
			}
			if (bctx.Err() != nil || errors.Is(err, nats.ErrTimeout)) && lastSeq > 0 {
				page.NextCursor = EncodeCursor(lastSeq)
				return page, nil
			}
			return page, unavailable(err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return page, unavailable(err)
		}
		lastSeq = meta.Sequence.Stream
		var rec contracts.AuditRecord
		if json.Unmarshal(msg.Data(), &rec) == nil && (q.Actor == "" || (rec.Actor != nil && rec.Actor.Name == q.Actor)) {
			page.Items = append(page.Items, rec)
		}
		if meta.NumPending == 0 {
			return page, nil
		}
		if len(page.Items) == limit {
			page.NextCursor = EncodeCursor(lastSeq)
			return page, nil
		}
	}
}

func unavailable(err error) error {
	return fmt.Errorf("read audit records: %w: %w", apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the audit stream cannot be read; retry shortly"), err)
}
