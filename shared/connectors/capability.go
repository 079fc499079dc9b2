package connectors

import (
	"context"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
)

// Instance is what a factory gets to build a connector for one integration
// revision.
type Instance struct {
	Integration contracts.Integration
	// Credentials resolves references on demand; connectors fetch what they
	// need per call and keep it no longer than a cache the resolver controls.
	Credentials CredentialSource
	// HTTP is the guarded client built from the integration's timeout and TLS
	// fields and the operator's address policy. Every outbound call uses it
	// (or its HTTPClient() handed to an SDK).
	HTTP *httpx.Client
	// Policy is the operator's outbound address policy HTTP was built with;
	// connectors that open their own connections (SMTP) or build their own
	// client (to hide a secret path) judge addresses with it too.
	Policy httpx.GuardPolicy
	// Scrubber is the connector's scrubber (nil outside the runtime): a
	// connector that builds its own HTTP client passes its options through
	// WithScrubber so derived credentials are scrubbed too.
	Scrubber *credentials.Scrubber
}

// CredentialSource gives a connector its secret values when it needs them.
type CredentialSource interface {
	// Resolve returns the secret behind ref (the integration's credentialRef
	// or a secret config field), e.g. keys username/password for basic.
	Resolve(ctx context.Context, ref string) (credentials.Secret, error)
}

// Connector is a provider's live client for one integration revision.
type Connector interface {
	// Close releases what the connector holds (idle connections, tokens).
	Close() error
}

// Checker runs the three health check levels: connectivity, authentication, functionality.
type Checker interface {
	CheckConnectivity(ctx context.Context) error
	CheckAuthentication(ctx context.Context) error
	CheckFunctionality(ctx context.Context) error
}

// Discoverer lists resources of a type.
type Discoverer interface {
	Discover(ctx context.Context, q DiscoveryQuery) (DiscoveryPage, error)
}

// DiscoveryQuery asks for one page of resources.
type DiscoveryQuery struct {
	ResourceType string
	Filter       contracts.DiscoveryFilter
	// Cursor is the provider's own continuation token; empty for the first page.
	Cursor string
	// PageSize is a hint.
	PageSize int
}

// DiscoveryPage is one page of resources and the cursor of the next.
type DiscoveryPage struct {
	Items      []contracts.Resource
	NextCursor string
}

// Notifier delivers a message.
type Notifier interface {
	Notify(ctx context.Context, m Message) (providerMessageID string, err error)
}

// Message is a notification to deliver.
type Message struct {
	Channel   string
	Severity  string
	Title     string
	Text      string
	ThreadKey string
	// DeliveryID names this delivery: the same event sent by the same rule
	// to the same target has the same id on every attempt (a redelivery
	// after a crash included), so a receiver can drop a duplicate.
	// Connectors whose receivers take an id (webhook) send it.
	DeliveryID string
	Data       map[string]any
}

// Triggerer starts a pipeline or job.
type Triggerer interface {
	// Trigger starts one run and returns what names it at the provider.
	Trigger(ctx context.Context, pipeline, ref string, params map[string]string) (RunRef, error)
}

// RunRef names a run a Triggerer started: RunStatus and CancelRun take it
// back. It is stored with the run (JSON), so a replica that takes the run
// over follows it from the reference alone.
type RunRef struct {
	// ID is the provider's id of the run. Some providers name a run only
	// later (a Jenkins queue item becomes a build, a GitHub dispatch a
	// run): ID is then what they gave, and RunState.Ref the better name.
	ID string `json:"id,omitempty"`
	// Pipeline and Ref are what was triggered, as the provider resolved them.
	Pipeline string `json:"pipeline,omitempty"`
	Ref      string `json:"ref,omitempty"`
	// WebURL is the run's page, when known.
	WebURL string `json:"webUrl,omitempty"`
	// Since is when the trigger was sent (GitHub finds its run by it).
	Since time.Time `json:"since,omitzero"`
}

// RunState is a run as the provider reports it now.
type RunState struct {
	Status contracts.PipelineRunStatus
	// Ref is the run's reference, updated when the provider named it.
	Ref  RunRef
	Jobs []contracts.PipelineJob
}

// RunFollower reads and cancels the runs its Triggerer started.
type RunFollower interface {
	RunStatus(ctx context.Context, run RunRef) (RunState, error)
	// CancelRun asks the provider to stop the run; the run's state then
	// moves to cancelled (or it ends otherwise first).
	CancelRun(ctx context.Context, run RunRef) error
}

// MetricsQuerier runs a query in the provider's own language and answers
// it in the normalized shape every provider shares. No data is an empty
// result, not an error; a query the provider refuses as wrong carries
// ErrBadQuery (see BadQuery).
type MetricsQuerier interface {
	Query(ctx context.Context, q contracts.MetricsQuery) (contracts.MetricsResult, error)
}

// SecretReader reads a secret from a secret store.
type SecretReader interface {
	ReadSecret(ctx context.Context, path string) (map[string]string, error)
}
