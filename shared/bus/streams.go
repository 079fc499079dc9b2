package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/contracts"
)

// StreamConfigs returns the three streams as configured. Exposed so
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
			Subjects:    wildcard(contracts.EventSubjects),
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
func EnsureStreams(ctx context.Context, js jetstream.JetStream, c Config) error {
	for _, sc := range StreamConfigs(c) {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("ensure stream %s: %w", sc.Name, err)
		}
	}
	return nil
}
