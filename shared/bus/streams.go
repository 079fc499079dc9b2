package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/contracts"
)

// ReplayPrefix prefixes events an operator republished from INTHUB_EVENTS:
// inthub.replay.<name>.<original subject>. They live in INTHUB_EVENTS beside
// the originals, so a consumer of a replay reads them like any event, and no
// subscriber of the original subjects sees them twice.
const ReplayPrefix = "inthub.replay"

// StreamConfigs returns the four streams as configured. Exposed so
// deployments/ can render them and tests can compare.
func StreamConfigs(c Config) []jetstream.StreamConfig {
	c = c.withDefaults()
	return []jetstream.StreamConfig{
		{
			Name:        StreamCommands,
			Description: "Integration Hub commands; work queue, one consumer per command",
			Subjects:    wildcard(contracts.CommandSubjects),
			Retention:   jetstream.WorkQueuePolicy,
			MaxAge:      c.CommandsMaxAge,
			Replicas:    c.Replicas,
			Duplicates:  c.DuplicateWindow,
			Storage:     jetstream.FileStorage,
		},
		{
			Name:        StreamEvents,
			Description: "Integration Hub events; kept for subscribers and replay",
			Subjects:    append(wildcard(contracts.EventSubjects), ReplayPrefix+".>"),
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      c.EventsMaxAge,
			MaxBytes:    c.EventsMaxBytes,
			Replicas:    c.Replicas,
			Duplicates:  c.DuplicateWindow,
			Storage:     jetstream.FileStorage,
		},
		{
			Name:        StreamDLQ,
			Description: "Integration Hub dead letters with reason and original headers",
			Subjects:    []string{DLQPrefix + ".>"},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      c.DLQMaxAge,
			Replicas:    c.Replicas,
			Duplicates:  c.DuplicateWindow,
			Storage:     jetstream.FileStorage,
		},
		{
			Name:        StreamAudit,
			Description: "Integration Hub audit records: who changed which integration or notification rule, when and what",
			Subjects:    []string{contracts.SubjectAudit + ".>"},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      c.AuditMaxAge,
			MaxBytes:    c.AuditMaxBytes,
			Replicas:    c.Replicas,
			Duplicates:  c.DuplicateWindow,
			Storage:     jetstream.FileStorage,
		},
	}
}

func wildcard(prefixes []string) []string {
	out := make([]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = p + ".>"
	}
	return out
}

// EnsureStreams creates the streams or updates them to the configuration;
// running it again changes nothing.
//
// A stream that already matches is left alone rather than updated: every
// service runs this at start, and nats-server (v2.15) races a stream update
// against the creation of a consumer on that stream (fileStore.UpdateConfig
// writes the config ConsumerStore reads unlocked), which the race detector
// reports whenever services of one process start together.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, c Config) error {
	for _, sc := range StreamConfigs(c) {
		if st, err := js.Stream(ctx, sc.Name); err == nil && sameStream(st.CachedInfo().Config, sc) {
			continue
		}
		// Created rather than created-or-updated: a service that found it
		// missing while another was creating it gets the other's stream
		// back (same config) instead of updating it.
		_, err := js.CreateStream(ctx, sc)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			_, err = js.UpdateStream(ctx, sc)
		}
		if err != nil {
			return fmt.Errorf("ensure stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// sameStream reports whether the server's config have already holds every
// setting of want (the server fills in the ones we leave zero).
func sameStream(have, want jetstream.StreamConfig) bool {
	maxBytes := want.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	return have.Description == want.Description && slices.Equal(have.Subjects, want.Subjects) &&
		have.Retention == want.Retention && have.MaxAge == want.MaxAge && have.MaxBytes == maxBytes &&
		have.Replicas == want.Replicas && have.Duplicates == want.Duplicates && have.Storage == want.Storage
}
