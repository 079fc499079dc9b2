package contracts

// This file proves that the Go types of this package and the published
// contracts in schemas/ (JSON Schema per type, openapi.json, asyncapi.yaml)
// agree: samples of every type validate, broken documents are rejected for
// the intended reason, every JSON property of every struct is in its schema
// and back, and the two API documents cover every path and subject.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const (
	// schemaDir is the top-level schemas/ folder, seen from this package.
	schemaDir = "../../schemas"
	// schemaBase is the $id prefix of every schema file.
	schemaBase  = "https://schemas.stella-ops.dev/inthub/"
	draft202012 = "https://json-schema.org/draft/2020-12/schema"
)

// --- samples -----------------------------------------------------------------

var (
	t0       = time.Date(2026, 3, 2, 10, 15, 0, 123456789, time.UTC)
	intID    = "3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10"
	otherID  = "9b1e4c3a-7d2f-4e60-8a15-0c9d8e7f6a51"
	tenantID = "acme"
)

func sampleIntegration() Integration {
	last := t0.Add(-time.Minute)
	return Integration{
		ID: intID, TenantID: tenantID, TypeID: "docker-registry", Name: "Production Registry",
		Description: "Images deployed to production.",
		Config: map[string]any{
			"url": "https://registry.example.com", "repository": "myorg",
			"insecureSkipVerify": false, "timeout": 30,
		},
		CredentialRef:   "vault://vault-1/docker/prod-registry#credentials",
		HealthStatus:    HealthHealthy,
		LastHealthCheck: &last,
		Labels:          map[string]string{"environment": "production", "team": "platform"},
		CreatedAt:       t0.Add(-48 * time.Hour),
		UpdatedAt:       t0,
		Revision:        3,
	}
}

// minimalIntegration has only the fields Go always writes; a provider
// without credentials stores an empty credentialRef.
func minimalIntegration() Integration {
	return Integration{
		ID: intID, TenantID: tenantID, TypeID: "webhook", Name: "w",
		Config: map[string]any{}, HealthStatus: HealthUnknown, Labels: map[string]string{},
		CreatedAt: t0, UpdatedAt: t0, Revision: 1,
	}
}

func sampleChanges() []FieldChange {
	return []FieldChange{
		{Field: "config.signingSecretRef", ValuesOmitted: OmittedSecret},
		{Field: "description", Old: "old", New: "Images deployed to production."},
		{Field: "labels.team", New: "platform"},
	}
}

func sampleAuditRecord() AuditRecord {
	return AuditRecord{
		ID: "integration:" + intID + ":3", TenantID: tenantID, ResourceType: AuditIntegration, ResourceID: intID,
		ResourceName: "Production Registry", Action: AuditUpdated, Actor: &Actor{Kind: ActorToken, Name: "ci"},
		Changes: sampleChanges(), Revision: 3, OccurredAt: t0,
	}
}

func sampleInput() IntegrationInput {
	return IntegrationInput{
		TypeID: "docker-registry", Name: "Production Registry", Description: "Images deployed to production.",
		Config:        map[string]any{"url": "https://registry.example.com", "repository": "myorg"},
		CredentialRef: "vault://vault-1/docker/prod-registry#credentials",
		Labels:        map[string]string{"environment": "production"},
	}
}

func sampleCheckResult() HealthCheckResult {
	return HealthCheckResult{
		IntegrationID: intID, CheckType: CheckAuthentication, Status: HealthUnhealthy, LatencyMs: 120,
		ErrorCode: "AUTHENTICATION_FAILED", Message: "registry.example.com refused the credentials", CheckedAt: t0,
	}
}

func sampleTestData() TestResultData {
	return TestResultData{
		ConnectivityTest:   TestStep{Status: "passed", LatencyMs: 45},
		AuthenticationTest: TestStep{Status: "failed", LatencyMs: 120, ErrorCode: "AUTHENTICATION_FAILED", Message: "401 from registry"},
		FunctionalityTest:  TestStep{Status: "skipped"},
	}
}

func minimalTestData() TestResultData {
	step := TestStep{Status: "passed", LatencyMs: 1}
	return TestResultData{ConnectivityTest: step, AuthenticationTest: step, FunctionalityTest: step}
}

func sampleDiscoveryRequest() DiscoveryRequest {
	return DiscoveryRequest{
		ResourceType: "tags", Filter: DiscoveryFilter{NamePattern: "v1.*", Repository: "myorg/myapp"},
		Limit: 100, Cursor: "eyJvIjoxMDB9", Refresh: true,
	}
}

func sampleDiscoveryResult() DiscoveryResult {
	return DiscoveryResult{
		ResourceType: "tags",
		Items: []Resource{
			{Type: "tags", Name: "v1.0.0", ID: "sha256:4f1c", Attributes: map[string]any{"digest": "sha256:4f1c", "pushedAt": "2026-03-01T08:00:00Z"}},
			{Type: "tags", Name: "v1.0.1"},
		},
		NextCursor: "eyJvIjoyMDB9", CacheHit: true, AgeSeconds: 42, DiscoveredAt: t0,
	}
}

func sampleErrorBody() *ErrorBody {
	return &ErrorBody{Code: "RATE_LIMITED", Message: "registry.example.com rate limit reached", Details: map[string]any{"retryAfterSeconds": 30}}
}

func sampleProvider() ProviderInfo {
	return ProviderInfo{
		ID: "docker-registry", Name: "Docker Registry", Category: "registry", Description: "Docker Registry v2 API",
		Aliases: []string{"registry", "distribution"}, IsTestOnly: false, SupportsDiscovery: true,
		SupportedResourceTypes: []string{"repositories", "tags"},
		CheckLevels:            []string{"connectivity", "authentication", "functionality"},
		Capabilities:           []string{"discover"},
		CredentialTypes:        []string{"basic", "token"},
		ConfigFields: []ConfigField{
			{Name: "url", Type: "url", Required: true, Description: "Registry base URL"},
			{Name: "insecureSkipVerify", Type: "boolean", Default: false, Description: "Skip TLS verification"},
			{Name: "authMethod", Type: "enum", Enum: []string{"token", "approle"}, Default: "token", Description: "Vault auth method"},
			{Name: "password", Type: "string", Secret: true, Description: "Given through credentialRef"},
		},
	}
}

func minimalProvider() ProviderInfo {
	return ProviderInfo{
		ID: "inmemory", Name: "InMemory", Category: "test", Description: "", IsTestOnly: true,
		SupportedResourceTypes: []string{}, CheckLevels: []string{}, Capabilities: []string{},
		CredentialTypes: []string{}, ConfigFields: []ConfigField{},
	}
}

func sampleMatch() NotificationMatch {
	return NotificationMatch{
		EventTypes: []string{"integration.health.changed"}, Severities: []string{"critical", "warning"},
		LabelSelector: "environment=production,team!=qa",
	}
}

func sampleTemplate() NotificationTemplate {
	return NotificationTemplate{
		Title: "{{.Integration.Name}} is {{.Data.current}}", Text: "{{.Event.Text}}",
		HTML:    "<p><b>{{.Integration.Name}}</b> is {{.Data.current}}</p>",
		Slack:   `[{"type":"section","text":{"type":"mrkdwn","text":"*{{.Integration.Name}}* is {{.Data.current}}"}}]`,
		Teams:   `{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"{{.Event.Title}}"}]}`,
		Webhook: `{"integration":"{{.Integration.ID}}","status":"{{.Data.current}}"}`,
	}
}

func sampleRule() NotificationRule {
	tmpl := sampleTemplate()
	return NotificationRule{
		ID: intID, TenantID: tenantID, Name: "Production outages", Description: "Page on-call.", Disabled: true,
		Match: sampleMatch(), Targets: []NotificationTarget{{IntegrationID: otherID, Channel: "#releases"}},
		Template: &tmpl, CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0, Revision: 4,
	}
}

func samplePipelineTrigger() PipelineTriggerRequested {
	return PipelineTriggerRequested{
		RequestID: "req-p1", TenantID: tenantID, IntegrationID: intID, Pipeline: "deploy.yml", Ref: "main",
		Parameters: map[string]string{"VERSION": "1.4.2"}, IdempotencyKey: "release-1.4.2-deploy",
	}
}

func samplePipelineRun() PipelineRun {
	done := t0
	return PipelineRun{
		RunID: otherID, TenantID: tenantID, IntegrationID: intID, Pipeline: "deploy.yml", Ref: "main",
		Parameters: map[string]string{"VERSION": "1.4.2"}, ProviderRunID: "8812345", Status: RunFailed,
		WebURL: "https://github.com/acme/app/actions/runs/8812345",
		Jobs:   []PipelineJob{{Name: "build", Stage: "build", Status: "succeeded"}, {Name: "deploy", Status: "failed"}},
		Error:  sampleErrorBody(), CreatedAt: t0.Add(-5 * time.Minute), UpdatedAt: t0, CompletedAt: &done, DurationMs: 300000,
	}
}

func minimalPipelineRun() PipelineRun {
	return PipelineRun{RunID: otherID, TenantID: tenantID, IntegrationID: intID, Pipeline: "", Status: RunQueued, CreatedAt: t0, UpdatedAt: t0}
}

// --- the table ---------------------------------------------------------------

// deleted marks a member an invalid case removes.
type deleted struct{}

// invalidCase breaks one thing in the full sample of a schema case.
type invalidCase struct {
	name string
	// path is a dot path into the sample ("integration.revision",
	// "items.0.name"); "" replaces the whole document.
	path  string
	value any
	// keyword is the schema keyword that must reject the document.
	keyword string
}

// schemaCase ties one Go type to its schema file, with samples.
type schemaCase struct {
	file    string
	typ     reflect.Type
	full    any // a realistic value with every field set
	minimal any // only the fields Go does not mark omitempty
	// minimalSets lists optional fields the minimal sample must still set,
	// where the schema asks for more than Go's required fields.
	minimalSets []string
	invalid     []invalidCase
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

func ptr[T any](v T) *T { return &v }

func sampleAnalysisMetric() AnalysisMetric {
	return AnalysisMetric{
		Name: "success-rate", IntegrationID: intID, Query: `sum(rate(http_requests_total{code!~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`,
		SuccessCondition: "result[0] >= 0.95", FailureCondition: "result[0] < 0.9", Interval: "30s", Count: 10,
		FailureLimit: 1, InconclusiveLimit: 2, ConsecutiveErrorLimit: ptr(4),
	}
}

func sampleMeasurement() AnalysisMeasurement {
	r := sampleMetricsResult()
	return AnalysisMeasurement{Metric: "success-rate", Index: 2, Phase: "error", Result: &r, Error: sampleErrorBody(), MeasuredAt: t0}
}

func sampleMetricsResult() MetricsResult {
	return MetricsResult{Series: []MetricSeries{{
		Labels: map[string]string{"service": "checkout", "code": "500"}, Unit: "percent",
		Points: []MetricPoint{{Time: t0, Value: ptr(0.5)}, {Time: t0.Add(time.Minute)}},
	}}}
}

// unknown, missing, wrongType and badEnum are the invalid cases most schemas
// share.
func unknown() invalidCase {
	return invalidCase{"unknown field", "surprise", true, "additionalProperties"}
}

func missing(field string) invalidCase {
	return invalidCase{"missing " + field, field, deleted{}, "required"}
}

func wrongType(field string, v any) invalidCase {
	return invalidCase{"wrong type of " + field, field, v, "type"}
}

func badEnum(field string, v any) invalidCase {
	return invalidCase{"bad enum " + field, field, v, "enum"}
}

func bad(name, field string, v any, keyword string) invalidCase {
	return invalidCase{name, field, v, keyword}
}

func schemaCases() []schemaCase {
	return []schemaCase{
		{
			file: "integration.schema.json", typ: typeOf[Integration](),
			full: sampleIntegration(), minimal: minimalIntegration(),
			invalid: []invalidCase{
				missing("id"), missing("credentialRef"), missing("revision"), unknown(),
				wrongType("revision", "3"), wrongType("labels", []any{"a"}),
				badEnum("healthStatus", "sick"),
				bad("id not a uuid", "id", "integration-1", "format"),
				bad("typeId upper case", "typeId", "Docker", "pattern"),
				bad("tenant with a dot breaks subjects", "tenantId", "acme.eu", "pattern"),
				bad("empty name", "name", "", "minLength"),
				bad("name over 200", "name", strings.Repeat("n", 201), "maxLength"),
				bad("description over 2000", "description", strings.Repeat("d", 2001), "maxLength"),
				bad("revision 0", "revision", 0, "minimum"),
				bad("createdAt not a date-time", "createdAt", "yesterday", "format"),
				bad("label value not a string", "labels.team", 7, "type"),
				bad("credentialRef not a reference", "credentialRef", "hunter2", "pattern"),
				// A nil Go map marshals as null: producers must send {}.
				bad("labels null (a nil Go map)", "labels", nil, "type"),
				bad("config null (a nil Go map)", "config", nil, "type"),
			},
		},
		{
			file: "integration-input.schema.json", typ: typeOf[IntegrationInput](),
			full:    sampleInput(),
			minimal: IntegrationInput{TypeID: "webhook", Name: "hook", Config: map[string]any{}},
			invalid: []invalidCase{
				missing("typeId"), missing("config"), unknown(),
				bad("server-owned id", "id", intID, "additionalProperties"),
				wrongType("config", "url=https://x"),
				bad("credentialRef with spaces", "credentialRef", "vault://vault 1/x#y", "pattern"),
			},
		},
		{
			file: "integration-list.schema.json", typ: typeOf[IntegrationList](),
			full:    IntegrationList{Items: []Integration{sampleIntegration(), minimalIntegration()}, NextCursor: "eyJvIjo1MH0"},
			minimal: IntegrationList{Items: []Integration{}},
			invalid: []invalidCase{
				missing("items"), unknown(), wrongType("items", map[string]any{}),
				bad("item breaks its schema", "items.0.healthStatus", "sick", "enum"),
				bad("items null (a nil Go slice)", "items", nil, "type"),
			},
		},
		{
			file: "integration-health.schema.json", typ: typeOf[IntegrationHealth](),
			full: func() IntegrationHealth {
				last := t0
				return IntegrationHealth{
					TenantID: tenantID, IntegrationID: intID, Status: HealthDegraded, LastCheck: &last,
					Checks:  map[CheckType]HealthCheckResult{CheckAuthentication: sampleCheckResult()},
					Breaker: "half-open",
				}
			}(),
			minimal: IntegrationHealth{TenantID: tenantID, IntegrationID: intID, Status: HealthUnknown},
			invalid: []invalidCase{
				missing("status"), unknown(), badEnum("breaker", "ajar"), badEnum("status", "fine"),
				bad("check keyed by an unknown level", "checks.full", sampleCheckResult(), "enum"),
			},
		},
		{
			file: "list-query.schema.json", typ: typeOf[ListQuery](),
			full: ListQuery{
				TypeID: "docker-registry", Category: "registry", LabelSelector: "environment=production,team!=qa",
				HealthStatus: HealthDegraded, Limit: 100, Cursor: "eyJvIjo1MH0",
			},
			minimal: ListQuery{},
			invalid: []invalidCase{
				unknown(), wrongType("limit", "100"), badEnum("healthStatus", "ok"),
				bad("limit 0", "limit", 0, "minimum"), bad("limit 501", "limit", 501, "maximum"),
			},
		},
		{
			file: "identity.schema.json", typ: typeOf[Identity](),
			full: Identity{Kind: IdentityOIDC, Name: "u-5d1e", Subject: "u-5d1e", Issuer: "https://login.example.com/realms/hub",
				TenantID: tenantID, Roles: []string{"operator"}, ExpiresAt: ptr(t0)},
			minimal: Identity{Kind: IdentityToken, Name: "ci", TenantID: tenantID, Roles: []string{}},
			invalid: []invalidCase{
				missing("kind"), missing("tenantId"), unknown(), badEnum("kind", "jwt"), badEnum("roles.0", "admin"),
				bad("roles null (a nil Go slice)", "roles", nil, "type"), bad("empty name", "name", "", "minLength"),
			},
		},
		{
			file: "error.schema.json", typ: typeOf[ErrorBody](),
			full:    sampleErrorBody(),
			minimal: ErrorBody{Code: "INTERNAL", Message: "internal error"},
			invalid: []invalidCase{
				missing("code"), missing("message"), unknown(), wrongType("details", "x"),
				bad("code not upper snake case", "code", "not found", "pattern"),
			},
		},
		{
			file: "health-status.schema.json", typ: typeOf[HealthStatus](),
			full: HealthDegraded, minimal: HealthUnknown,
			invalid: []invalidCase{badEnum("", "sick"), wrongType("", 1)},
		},
		{
			file: "check-type.schema.json", typ: typeOf[CheckType](),
			full: CheckFunctionality, minimal: CheckConnectivity,
			invalid: []invalidCase{badEnum("", "full"), wrongType("", true)},
		},
		{
			file: "config-field.schema.json", typ: typeOf[ConfigField](),
			full:    ConfigField{Name: "authMethod", Type: "enum", Required: true, Secret: false, Default: "token", Enum: []string{"token", "approle", "kubernetes"}, Description: "Vault auth method"},
			minimal: ConfigField{Name: "url", Type: "url", Description: ""},
			invalid: []invalidCase{
				missing("required"), missing("description"), unknown(), wrongType("required", "yes"),
				bad("enum item not a string", "enum.0", 1, "type"),
			},
		},
		{
			file: "provider-info.schema.json", typ: typeOf[ProviderInfo](),
			full: sampleProvider(), minimal: minimalProvider(),
			invalid: []invalidCase{
				missing("supportedResourceTypes"), missing("isTestOnly"), unknown(),
				wrongType("isTestOnly", "false"), badEnum("checkLevels.0", "full"),
				bad("config field breaks its schema", "configFields.0.secret", "no", "type"),
				bad("configFields null (a nil Go slice)", "configFields", nil, "type"),
			},
		},
		{
			file: "provider-list.schema.json", typ: typeOf[ProviderList](),
			full:    ProviderList{Items: []ProviderInfo{sampleProvider(), minimalProvider()}},
			minimal: ProviderList{Items: []ProviderInfo{}},
			invalid: []invalidCase{
				missing("items"), unknown(), wrongType("items", "docker-registry"),
				bad("provider without id", "items.1.id", deleted{}, "required"),
			},
		},
		{
			file: "lifecycle-event.schema.json", typ: typeOf[LifecycleEvent](),
			full: LifecycleEvent{EventID: "01JNB6Q3S4V5W6X7Y8Z9A0B1C2", TenantID: tenantID, Integration: sampleIntegration(), OccurredAt: t0,
				Actor: &Actor{Kind: ActorToken, Name: "ci"}, Changes: sampleChanges()},
			minimal: LifecycleEvent{EventID: "e1", TenantID: tenantID, Integration: minimalIntegration(), OccurredAt: t0},
			invalid: []invalidCase{
				missing("integration"), missing("eventId"), unknown(), wrongType("occurredAt", 1700000000),
				badEnum("integration.healthStatus", "green"),
				bad("integration with a secret field", "integration.password", "hunter2", "additionalProperties"),
			},
		},
		{
			file: "actor.schema.json", typ: typeOf[Actor](),
			full:    Actor{Kind: ActorOIDC, Name: "u-5d1e", Issuer: "https://login.example.com/realms/hub"},
			minimal: Actor{Kind: ActorToken, Name: "ci"},
			invalid: []invalidCase{
				missing("kind"), missing("name"), unknown(), badEnum("kind", "root"),
				bad("empty name", "name", "", "minLength"), bad("name over 256", "name", strings.Repeat("n", 257), "maxLength"),
			},
		},
		{
			file: "field-change.schema.json", typ: typeOf[FieldChange](),
			full:    FieldChange{Field: "config.url", Old: "https://a.example.com", New: "https://b.example.com"},
			minimal: FieldChange{Field: "credentialRef", ValuesOmitted: OmittedSecret},
			// A change without values says why it has none.
			minimalSets: []string{"valuesOmitted"},
			invalid: []invalidCase{
				missing("field"), unknown(), badEnum("valuesOmitted", "hidden"), bad("empty field", "field", "", "minLength"),
			},
		},
		{
			file: "audit-record.schema.json", typ: typeOf[AuditRecord](),
			full:    sampleAuditRecord(),
			minimal: AuditRecord{ID: "integration:" + intID + ":4", TenantID: tenantID, ResourceType: AuditIntegration, ResourceID: intID, Action: AuditDeleted, Changes: []FieldChange{}, Revision: 4, OccurredAt: t0},
			invalid: []invalidCase{
				missing("action"), missing("changes"), unknown(), badEnum("action", "renamed"), badEnum("resourceType", "secret"),
				bad("revision 0", "revision", 0, "minimum"), bad("actor without name", "actor.name", deleted{}, "required"),
				bad("changes null (a nil Go slice)", "changes", nil, "type"),
			},
		},
		{
			file: "audit-page.schema.json", typ: typeOf[AuditPage](),
			full:    AuditPage{Items: []AuditRecord{sampleAuditRecord()}, NextCursor: "YTo0Mg"},
			minimal: AuditPage{Items: []AuditRecord{}},
			invalid: []invalidCase{
				missing("items"), unknown(), wrongType("items", "x"), bad("record without id", "items.0.id", deleted{}, "required"),
			},
		},
		{
			file: "health-check-requested.schema.json", typ: typeOf[HealthCheckRequested](),
			full: HealthCheckRequested{TenantID: tenantID, IntegrationID: intID, CheckType: CheckConnectivity,
				CheckTypes: []CheckType{CheckConnectivity, CheckAuthentication, CheckFunctionality}, Slot: 0, ScheduledAt: t0},
			minimal: HealthCheckRequested{TenantID: tenantID, IntegrationID: intID, CheckType: CheckFunctionality, Slot: 0, ScheduledAt: t0},
			invalid: []invalidCase{
				missing("slot"), unknown(), wrongType("slot", "1"), badEnum("checkType", "full"),
				bad("negative slot", "slot", -1, "minimum"),
				badEnum("checkTypes.1", "full"), bad("empty checkTypes", "checkTypes", []string{}, "minItems"),
				bad("a level twice", "checkTypes", []string{"connectivity", "connectivity"}, "uniqueItems"),
			},
		},
		{
			file: "health-check-result.schema.json", typ: typeOf[HealthCheckResult](),
			full:    sampleCheckResult(),
			minimal: HealthCheckResult{IntegrationID: intID, CheckType: CheckConnectivity, Status: HealthHealthy, LatencyMs: 0, CheckedAt: t0},
			invalid: []invalidCase{
				missing("checkedAt"), unknown(), wrongType("latencyMs", 1.5),
				bad("a check never concludes unknown", "status", "unknown", "enum"),
			},
		},
		{
			file: "health-checked.schema.json", typ: typeOf[HealthChecked](),
			full:    HealthChecked{TenantID: tenantID, Result: sampleCheckResult()},
			minimal: HealthChecked{TenantID: tenantID, Result: HealthCheckResult{IntegrationID: intID, CheckType: CheckConnectivity, Status: HealthHealthy, CheckedAt: t0}},
			invalid: []invalidCase{
				missing("result"), unknown(), wrongType("result", "ok"), badEnum("result.checkType", "ping"),
			},
		},
		{
			file: "health-changed.schema.json", typ: typeOf[HealthChanged](),
			full: HealthChanged{
				TenantID: tenantID, IntegrationID: intID, TypeID: "docker-registry", Name: "Production Registry",
				Labels: map[string]string{"environment": "production"}, Previous: HealthHealthy, Current: HealthUnhealthy,
				Reason: "authentication failed 3 times", ErrorCode: "AUTHENTICATION_FAILED", ChangedAt: t0,
			},
			minimal: HealthChanged{
				TenantID: tenantID, IntegrationID: intID, TypeID: "slack", Name: "Slack",
				Previous: HealthUnknown, Current: HealthHealthy, ChangedAt: t0,
			},
			invalid: []invalidCase{
				missing("previous"), missing("typeId"), unknown(), wrongType("labels", "a=b"), badEnum("current", "red"),
			},
		},
		{
			file: "test-requested.schema.json", typ: typeOf[TestRequested](),
			full:    TestRequested{RequestID: "req-7f3a", TenantID: tenantID, IntegrationID: intID},
			minimal: TestRequested{RequestID: "r", TenantID: tenantID, IntegrationID: intID},
			invalid: []invalidCase{
				missing("requestId"), unknown(), wrongType("integrationId", 7),
				bad("empty requestId", "requestId", "", "minLength"),
			},
		},
		{
			file: "test-step.schema.json", typ: typeOf[TestStep](),
			full:    TestStep{Status: "failed", LatencyMs: 120, ErrorCode: "CONNECTION_REFUSED", Message: "dial tcp: connection refused"},
			minimal: TestStep{Status: "skipped"},
			invalid: []invalidCase{
				missing("status"), unknown(), wrongType("latencyMs", "45ms"), badEnum("status", "ok"),
				bad("negative latency", "latencyMs", -1, "minimum"),
			},
		},
		{
			file: "test-result-data.schema.json", typ: typeOf[TestResultData](),
			full: sampleTestData(), minimal: minimalTestData(),
			invalid: []invalidCase{
				missing("functionalityTest"), unknown(), wrongType("connectivityTest", "passed"),
				badEnum("authenticationTest.status", "error"),
			},
		},
		{
			file: "test-completed.schema.json", typ: typeOf[TestCompleted](),
			full:    TestCompleted{RequestID: "req-7f3a", TenantID: tenantID, IntegrationID: intID, Success: false, Data: sampleTestData(), CompletedAt: t0},
			minimal: TestCompleted{RequestID: "r", TenantID: tenantID, IntegrationID: intID, Success: true, Data: minimalTestData(), CompletedAt: t0},
			invalid: []invalidCase{
				missing("success"), missing("data"), unknown(), wrongType("success", "true"),
				badEnum("data.connectivityTest.status", "ok"),
			},
		},
		{
			file: "test-response.schema.json", typ: typeOf[TestResponse](),
			full:    TestResponse{Success: false, Data: sampleTestData()},
			minimal: TestResponse{Success: true, Data: minimalTestData()},
			invalid: []invalidCase{
				missing("data"), unknown(), wrongType("success", 1),
				bad("step without status", "data.functionalityTest.status", deleted{}, "required"),
			},
		},
		{
			file: "discovery-filter.schema.json", typ: typeOf[DiscoveryFilter](),
			full: DiscoveryFilter{NamePattern: "myapp-*", Repository: "myorg/myapp", Allow: []string{`^v[0-9]`}, Ignore: []string{`-rc`},
				Semver: ">=1.2.0 <2", OrderBy: "semver", Order: "desc"},
			minimal: DiscoveryFilter{},
			invalid: []invalidCase{unknown(), wrongType("namePattern", []any{"a"}), badEnum("orderBy", "newest"), wrongType("allow", "^v")},
		},
		{
			file: "discovery-request.schema.json", typ: typeOf[DiscoveryRequest](),
			full:    sampleDiscoveryRequest(),
			minimal: DiscoveryRequest{ResourceType: "repositories"},
			invalid: []invalidCase{
				missing("resourceType"), unknown(), wrongType("refresh", "yes"),
				bad("limit 0", "limit", 0, "minimum"),
				bad("unknown filter field", "filter.tag", "v1", "additionalProperties"),
				bad("resourceType with a space", "resourceType", "my tags", "pattern"),
			},
		},
		{
			file: "discovery-requested.schema.json", typ: typeOf[DiscoveryRequested](),
			full:    DiscoveryRequested{RequestID: "req-91c2", TenantID: tenantID, IntegrationID: intID, Request: sampleDiscoveryRequest()},
			minimal: DiscoveryRequested{RequestID: "r", TenantID: tenantID, IntegrationID: intID, Request: DiscoveryRequest{ResourceType: "pipelines"}},
			invalid: []invalidCase{
				missing("request"), unknown(), wrongType("request", "tags"),
				bad("request without resourceType", "request.resourceType", deleted{}, "required"),
			},
		},
		{
			file: "resource.schema.json", typ: typeOf[Resource](),
			full:    Resource{Type: "pipelines", Name: "build", ID: "42", Attributes: map[string]any{"ref": "main", "webUrl": "https://gitlab.example.com/p/42"}},
			minimal: Resource{Type: "repositories", Name: "myorg/myapp"},
			invalid: []invalidCase{
				missing("name"), unknown(), wrongType("attributes", []any{}),
			},
		},
		{
			file: "discovery-result.schema.json", typ: typeOf[DiscoveryResult](),
			full:    sampleDiscoveryResult(),
			minimal: DiscoveryResult{ResourceType: "repositories", Items: []Resource{}, DiscoveredAt: t0},
			invalid: []invalidCase{
				missing("items"), missing("cacheHit"), unknown(), wrongType("ageSeconds", "42"),
				bad("item without type", "items.1.type", deleted{}, "required"),
				bad("negative age", "ageSeconds", -5, "minimum"),
			},
		},
		{
			file: "discovery-completed.schema.json", typ: typeOf[DiscoveryCompleted](),
			full: func() DiscoveryCompleted {
				r := sampleDiscoveryResult()
				return DiscoveryCompleted{RequestID: "req-91c2", TenantID: tenantID, IntegrationID: intID, Result: &r}
			}(),
			// Exactly one of result and error is required; error is the smaller.
			minimal:     DiscoveryCompleted{RequestID: "r", TenantID: tenantID, IntegrationID: intID, Error: &ErrorBody{Code: "UNSUPPORTED_RESOURCE_TYPE", Message: "no"}},
			minimalSets: []string{"error"},
			invalid: []invalidCase{
				missing("requestId"), unknown(), wrongType("error", "boom"),
				bad("neither result nor error", "result", deleted{}, "oneOf"),
				bad("both result and error", "error", map[string]any{"code": "TIMEOUT", "message": "late"}, "oneOf"),
			},
		},
		{
			file: "metrics-query.schema.json", typ: typeOf[MetricsQuery](),
			full:    MetricsQuery{Query: `sum(rate(http_requests_total{code=~"5.."}[5m]))`, Start: &t0, End: ptr(t0.Add(time.Hour)), StepSeconds: 60},
			minimal: MetricsQuery{Query: "vector(1)"},
			invalid: []invalidCase{
				missing("query"), unknown(), bad("empty query", "query", "", "minLength"),
				bad("start without end", "end", deleted{}, "dependentRequired"),
				bad("zero step", "stepSeconds", 0, "exclusiveMinimum"),
			},
		},
		{
			file: "metrics-result.schema.json", typ: typeOf[MetricsResult](),
			full:    sampleMetricsResult(),
			minimal: MetricsResult{Series: []MetricSeries{}},
			invalid: []invalidCase{
				missing("series"), unknown(), bad("series null (a nil Go slice)", "series", nil, "type"),
				bad("point without time", "series.0.points.0.time", deleted{}, "required"),
			},
		},
		{
			file: "metric-series.schema.json", typ: typeOf[MetricSeries](),
			full:    sampleMetricsResult().Series[0],
			minimal: MetricSeries{Labels: map[string]string{}, Points: []MetricPoint{}},
			invalid: []invalidCase{
				missing("labels"), missing("points"), unknown(), wrongType("labels.service", 1),
			},
		},
		{
			file: "metric-point.schema.json", typ: typeOf[MetricPoint](),
			full:    MetricPoint{Time: t0, Value: ptr(0.25)},
			minimal: MetricPoint{Time: t0},
			invalid: []invalidCase{
				missing("time"), unknown(), wrongType("value", "NaN"),
			},
		},
		{
			file: "metrics-query-requested.schema.json", typ: typeOf[MetricsQueryRequested](),
			full:    MetricsQueryRequested{RequestID: "req-7a1f", TenantID: tenantID, IntegrationID: intID, Query: MetricsQuery{Query: "up", Time: &t0}},
			minimal: MetricsQueryRequested{RequestID: "r", TenantID: tenantID, IntegrationID: intID, Query: MetricsQuery{Query: "up"}},
			invalid: []invalidCase{
				missing("query"), missing("requestId"), unknown(), bad("integrationId not a uuid", "integrationId", "prom-1", "format"),
			},
		},
		{
			file: "metrics-query-completed.schema.json", typ: typeOf[MetricsQueryCompleted](),
			full: func() MetricsQueryCompleted {
				r := sampleMetricsResult()
				return MetricsQueryCompleted{RequestID: "req-7a1f", TenantID: tenantID, IntegrationID: intID, Result: &r}
			}(),
			minimal:     MetricsQueryCompleted{RequestID: "r", TenantID: tenantID, IntegrationID: intID, Error: &ErrorBody{Code: "INVALID_METRICS_QUERY", Message: "no"}},
			minimalSets: []string{"error"},
			invalid: []invalidCase{
				missing("requestId"), unknown(),
				bad("neither result nor error", "result", deleted{}, "oneOf"),
			},
		},
		{
			file: "analysis-metric.schema.json", typ: typeOf[AnalysisMetric](),
			full:        sampleAnalysisMetric(),
			minimal:     AnalysisMetric{Name: "m", IntegrationID: intID, Query: "up", FailureCondition: "result[0] < 1"},
			minimalSets: []string{"failureCondition"},
			invalid: []invalidCase{
				missing("query"), missing("integrationId"), unknown(), bad("interval not a duration", "interval", "5 minutes", "pattern"),
				bad("condition too long", "successCondition", strings.Repeat("x", 4097), "maxLength"),
				bad("negative limit", "failureLimit", -1, "minimum"),
			},
		},
		{
			file: "analysis-run-requested.schema.json", typ: typeOf[AnalysisRunRequested](),
			full:    AnalysisRunRequested{RunID: otherID, TenantID: tenantID, Metrics: []AnalysisMetric{sampleAnalysisMetric()}},
			minimal: AnalysisRunRequested{RunID: otherID, TenantID: tenantID, Metrics: []AnalysisMetric{{Name: "m", IntegrationID: intID, Query: "up", SuccessCondition: "true"}}},
			invalid: []invalidCase{
				missing("metrics"), unknown(), bad("no metric", "metrics", []any{}, "minItems"), bad("runId not a uuid", "runId", "run-1", "format"),
			},
		},
		{
			file: "analysis-run-cancel-requested.schema.json", typ: typeOf[AnalysisRunCancelRequested](),
			full:    AnalysisRunCancelRequested{RunID: otherID, TenantID: tenantID},
			minimal: AnalysisRunCancelRequested{RunID: otherID, TenantID: tenantID},
			invalid: []invalidCase{missing("runId"), unknown()},
		},
		{
			file: "analysis-measurement.schema.json", typ: typeOf[AnalysisMeasurement](),
			full:    sampleMeasurement(),
			minimal: AnalysisMeasurement{Metric: "m", Phase: "inconclusive", MeasuredAt: t0},
			invalid: []invalidCase{missing("phase"), unknown(), badEnum("phase", "passed"), bad("negative index", "index", -1, "minimum")},
		},
		{
			file: "analysis-run-measured.schema.json", typ: typeOf[AnalysisRunMeasured](),
			full:    AnalysisRunMeasured{RunID: otherID, TenantID: tenantID, Measurement: sampleMeasurement()},
			minimal: AnalysisRunMeasured{RunID: otherID, TenantID: tenantID, Measurement: AnalysisMeasurement{Metric: "m", Phase: "error", MeasuredAt: t0}},
			invalid: []invalidCase{missing("measurement"), unknown()},
		},
		{
			file: "analysis-metric-result.schema.json", typ: typeOf[AnalysisMetricResult](),
			full:    AnalysisMetricResult{Name: "success-rate", Phase: "failed", Measurements: 3, Successful: 1, Failed: 2, Message: "2 failed measurements, more than failureLimit 1"},
			minimal: AnalysisMetricResult{Name: "m", Phase: "successful"},
			invalid: []invalidCase{missing("failed"), unknown(), badEnum("phase", "ok")},
		},
		{
			file: "analysis-run-completed.schema.json", typ: typeOf[AnalysisRunCompleted](),
			full: AnalysisRunCompleted{RunID: otherID, TenantID: tenantID, Verdict: "successful", Message: "every metric held",
				Metrics: []AnalysisMetricResult{{Name: "success-rate", Phase: "successful", Measurements: 3, Successful: 3}},
				Error:   sampleErrorBody(), CompletedAt: t0},
			minimal: AnalysisRunCompleted{RunID: otherID, TenantID: tenantID, Verdict: "error", Metrics: []AnalysisMetricResult{}, CompletedAt: t0},
			invalid: []invalidCase{missing("verdict"), unknown(), badEnum("verdict", "passed"), bad("metrics null (a nil Go slice)", "metrics", nil, "type")},
		},
		{
			file: "analysis-run-input.schema.json", typ: typeOf[AnalysisRunInput](),
			full:    AnalysisRunInput{Metrics: []AnalysisMetric{sampleAnalysisMetric()}},
			minimal: AnalysisRunInput{Metrics: []AnalysisMetric{{Name: "m", IntegrationID: intID, Query: "up", SuccessCondition: "true"}}},
			invalid: []invalidCase{missing("metrics"), unknown(), bad("no metric", "metrics", []any{}, "minItems")},
		},
		{
			file: "analysis-run.schema.json", typ: typeOf[AnalysisRun](),
			full: AnalysisRun{RunID: otherID, TenantID: tenantID, Metrics: []AnalysisMetric{sampleAnalysisMetric()}, Status: "completed",
				Cancelled: true, Verdict: "inconclusive", Message: "cancelled", Error: sampleErrorBody(),
				Results:      []AnalysisMetricResult{{Name: "success-rate", Phase: "inconclusive", Measurements: 1, Successful: 1}},
				Measurements: []AnalysisMeasurement{sampleMeasurement()}, CreatedAt: t0, CompletedAt: ptr(t0.Add(time.Minute))},
			minimal: AnalysisRun{RunID: otherID, TenantID: tenantID, Metrics: []AnalysisMetric{}, Status: "running",
				Results: []AnalysisMetricResult{}, Measurements: []AnalysisMeasurement{}, CreatedAt: t0},
			invalid: []invalidCase{missing("status"), unknown(), badEnum("status", "done"), badEnum("verdict", "ok")},
		},
		{
			file: "notification-send-requested.schema.json", typ: typeOf[NotificationSendRequested](),
			full: NotificationSendRequested{
				RequestID: "req-5d1e", TenantID: tenantID, IntegrationID: otherID, RuleID: "rule-prod-health",
				Channel: "#releases", Severity: "critical", Title: "Production Registry is unhealthy",
				Body: "authentication failed 3 times", Template: "health-changed",
				Data: map[string]any{"integrationId": intID, "previous": "healthy"}, ThreadKey: intID,
				Attachments: []NotificationAttachment{{Filename: "report.txt", ContentType: "text/plain", ContentBase64: "b2s="}},
			},
			minimal: NotificationSendRequested{RequestID: "r", TenantID: tenantID, Severity: "info", Title: "t"},
			invalid: []invalidCase{
				missing("title"), missing("severity"), unknown(), wrongType("data", "x"), badEnum("severity", "fatal"),
				bad("attachment without content", "attachments.0.contentBase64", deleted{}, "required"),
			},
		},
		{
			file: "notification-attachment.schema.json", typ: typeOf[NotificationAttachment](),
			full:    NotificationAttachment{Filename: "release-notes.pdf", ContentType: "application/pdf", ContentBase64: "JVBERi0xLjcK"},
			minimal: NotificationAttachment{Filename: "a.txt", ContentBase64: ""},
			invalid: []invalidCase{
				missing("filename"), missing("contentBase64"), unknown(),
				bad("content not base64", "contentBase64", "not base64!", "pattern"),
				bad("empty filename", "filename", "", "minLength"),
			},
		},
		{
			file: "notification-match.schema.json", typ: typeOf[NotificationMatch](),
			full:    sampleMatch(),
			minimal: NotificationMatch{EventTypes: []string{"notification.send.requested"}},
			invalid: []invalidCase{
				missing("eventTypes"), unknown(), badEnum("eventTypes.0", "integration.created"),
				badEnum("severities.0", "fatal"), bad("no event type", "eventTypes", []any{}, "minItems"),
			},
		},
		{
			file: "notification-target.schema.json", typ: typeOf[NotificationTarget](),
			full:    NotificationTarget{IntegrationID: otherID, Channel: "#releases"},
			minimal: NotificationTarget{IntegrationID: otherID},
			invalid: []invalidCase{
				missing("integrationId"), unknown(), bad("integrationId not a uuid", "integrationId", "slack-1", "format"),
			},
		},
		{
			file: "notification-template.schema.json", typ: typeOf[NotificationTemplate](),
			full:    sampleTemplate(),
			minimal: NotificationTemplate{},
			invalid: []invalidCase{
				unknown(), wrongType("slack", []any{}), bad("huge text", "text", strings.Repeat("t", 16385), "maxLength"),
			},
		},
		{
			file: "notification-rule-input.schema.json", typ: typeOf[NotificationRuleInput](),
			full: NotificationRuleInput{
				Name: "Production outages", Description: "Page on-call when a production integration breaks.", Disabled: true,
				Match: sampleMatch(), Targets: []NotificationTarget{{IntegrationID: otherID, Channel: "#releases"}, {IntegrationID: intID}},
				Template: func() *NotificationTemplate { t := sampleTemplate(); return &t }(),
			},
			minimal: NotificationRuleInput{Name: "n", Match: NotificationMatch{EventTypes: []string{"integration.health.changed"}}, Targets: []NotificationTarget{{IntegrationID: otherID}}},
			invalid: []invalidCase{
				missing("targets"), missing("match"), unknown(),
				bad("no target", "targets", []any{}, "minItems"),
				bad("server-owned id", "id", intID, "additionalProperties"),
				bad("target breaks its schema", "targets.0.integrationId", deleted{}, "required"),
			},
		},
		{
			file: "notification-rule.schema.json", typ: typeOf[NotificationRule](),
			full: sampleRule(),
			minimal: NotificationRule{ID: intID, TenantID: tenantID, Name: "n", Match: NotificationMatch{EventTypes: []string{"integration.health.changed"}},
				Targets: []NotificationTarget{{IntegrationID: otherID}}, CreatedAt: t0, UpdatedAt: t0, Revision: 1},
			invalid: []invalidCase{
				missing("revision"), missing("tenantId"), unknown(), bad("revision 0", "revision", 0, "minimum"),
				bad("id not a uuid", "id", "rule-1", "format"), bad("targets null (a nil Go slice)", "targets", nil, "type"),
			},
		},
		{
			file: "notification-delivery.schema.json", typ: typeOf[NotificationDelivery](),
			full: NotificationDelivery{EventID: intID + ":changed:7", IntegrationID: otherID, Channel: "#releases", Status: "failed",
				ProviderMessageID: "1712345678.000200", ErrorCode: "AUTH_FAILED", Reason: "401 from Slack", At: t0},
			minimal: NotificationDelivery{EventID: "e", IntegrationID: otherID, Status: "sent", At: t0},
			invalid: []invalidCase{
				missing("eventId"), missing("status"), unknown(), badEnum("status", "queued"), bad("integrationId not a uuid", "integrationId", "x", "format"),
			},
		},
		{
			file: "notification-delivery-list.schema.json", typ: typeOf[NotificationDeliveryList](),
			full:    NotificationDeliveryList{Items: []NotificationDelivery{{EventID: "e", IntegrationID: otherID, Status: "sent", At: t0}}, Truncated: true},
			minimal: NotificationDeliveryList{Items: []NotificationDelivery{}},
			invalid: []invalidCase{
				missing("items"), unknown(), bad("items null (a nil Go slice)", "items", nil, "type"),
				bad("item without status", "items.0.status", deleted{}, "required"),
			},
		},
		{
			file: "notification-preview-input.schema.json", typ: typeOf[NotificationPreviewInput](),
			full:    NotificationPreviewInput{EventTypes: []string{SubjectHealthChanged, SubjectNotificationRequest}, Template: sampleTemplate()},
			minimal: NotificationPreviewInput{EventTypes: []string{SubjectHealthChanged}, Template: NotificationTemplate{}},
			invalid: []invalidCase{
				missing("eventTypes"), missing("template"), unknown(), badEnum("eventTypes.0", "pipeline.run"),
				bad("no event types", "eventTypes", []any{}, "minItems"), bad("huge title", "template.title", strings.Repeat("t", 2001), "maxLength"),
			},
		},
		{
			file: "notification-preview-sample.schema.json", typ: typeOf[NotificationPreviewSample](),
			full: NotificationPreviewSample{EventType: SubjectHealthChanged, Summary: "Production Registry is unhealthy", Title: "[CRITICAL] Production Registry is unhealthy",
				Text: "down", HTML: "<p>down</p>", Slack: `[{"type":"divider"}]`, Teams: `{"type":"AdaptiveCard"}`, Webhook: `{"who":"x"}`, Truncated: true},
			minimal: NotificationPreviewSample{EventType: SubjectNotificationRequest, Summary: "", Title: "", Text: ""},
			invalid: []invalidCase{
				missing("title"), missing("eventType"), unknown(), badEnum("eventType", "pipeline.run"), wrongType("truncated", "yes"),
			},
		},
		{
			file: "notification-preview.schema.json", typ: typeOf[NotificationPreview](),
			full:    NotificationPreview{Samples: []NotificationPreviewSample{{EventType: SubjectHealthChanged, Summary: "s", Title: "t", Text: "x"}}},
			minimal: NotificationPreview{Samples: []NotificationPreviewSample{}},
			invalid: []invalidCase{
				missing("samples"), unknown(), bad("samples null (a nil Go slice)", "samples", nil, "type"),
				bad("sample without title", "samples.0.title", deleted{}, "required"),
			},
		},
		{
			file: "notification-rule-list.schema.json", typ: typeOf[NotificationRuleList](),
			full:    NotificationRuleList{Items: []NotificationRule{sampleRule()}},
			minimal: NotificationRuleList{Items: []NotificationRule{}},
			invalid: []invalidCase{
				missing("items"), unknown(), bad("items null (a nil Go slice)", "items", nil, "type"),
				bad("item breaks its schema", "items.0.match.eventTypes", []any{}, "minItems"),
			},
		},
		{
			file: "notification-outcome.schema.json", typ: typeOf[NotificationOutcome](),
			full: NotificationOutcome{
				RequestID: "req-5d1e", TenantID: tenantID, IntegrationID: otherID, Channel: "#releases",
				ProviderMessageID: "1712345678.000200", Error: sampleErrorBody(), OccurredAt: t0,
			},
			minimal: NotificationOutcome{RequestID: "r", TenantID: tenantID, IntegrationID: otherID, OccurredAt: t0},
			invalid: []invalidCase{
				missing("integrationId"), unknown(), wrongType("error", []any{}),
				bad("error without code", "error.code", deleted{}, "required"),
			},
		},
		{
			file: "pipeline-run-status.schema.json", typ: typeOf[PipelineRunStatus](),
			full: RunSucceeded, minimal: RunQueued,
			invalid: []invalidCase{badEnum("", "success"), wrongType("", 1)},
		},
		{
			file: "pipeline-trigger-requested.schema.json", typ: typeOf[PipelineTriggerRequested](),
			full:    samplePipelineTrigger(),
			minimal: PipelineTriggerRequested{RequestID: "r", TenantID: tenantID, IntegrationID: intID, Pipeline: ""},
			invalid: []invalidCase{
				missing("pipeline"), missing("requestId"), unknown(), wrongType("parameters", []any{"a"}),
				bad("parameter not a string", "parameters.VERSION", 2, "type"),
				bad("idempotencyKey with a space", "idempotencyKey", "a b", "pattern"),
				bad("integrationId not a uuid", "integrationId", "gitlab-1", "format"),
			},
		},
		{
			file: "pipeline-cancel-requested.schema.json", typ: typeOf[PipelineCancelRequested](),
			full:    PipelineCancelRequested{RequestID: "req-c1", TenantID: tenantID, IntegrationID: intID, RunID: otherID},
			minimal: PipelineCancelRequested{RequestID: "r", TenantID: tenantID, IntegrationID: intID, RunID: otherID},
			invalid: []invalidCase{
				missing("runId"), unknown(), bad("runId not a uuid", "runId", "42", "format"),
			},
		},
		{
			file: "pipeline-job.schema.json", typ: typeOf[PipelineJob](),
			full:    PipelineJob{Name: "unit", Stage: "test", Status: "running"},
			minimal: PipelineJob{Name: "build", Status: "skipped"},
			invalid: []invalidCase{missing("status"), unknown(), badEnum("status", "manual")},
		},
		{
			file: "pipeline-run.schema.json", typ: typeOf[PipelineRun](),
			full: samplePipelineRun(), minimal: minimalPipelineRun(),
			invalid: []invalidCase{
				missing("status"), missing("runId"), unknown(), badEnum("status", "success"),
				bad("negative duration", "durationMs", -1, "minimum"),
				bad("job breaks its schema", "jobs.0.status", "manual", "enum"),
			},
		},
		{
			file: "pipeline-run-event.schema.json", typ: typeOf[PipelineRunEvent](),
			full:    PipelineRunEvent{EventID: otherID + ":completed", RequestID: "req-p1", Previous: RunRunning, Run: samplePipelineRun(), OccurredAt: t0},
			minimal: PipelineRunEvent{EventID: "e", Run: minimalPipelineRun(), OccurredAt: t0},
			invalid: []invalidCase{
				missing("run"), unknown(), badEnum("previous", "done"),
				bad("run without status", "run.status", deleted{}, "required"),
			},
		},
		{
			file: "pipeline-run-list.schema.json", typ: typeOf[PipelineRunList](),
			full:    PipelineRunList{Items: []PipelineRun{samplePipelineRun(), minimalPipelineRun()}, NextCursor: "eyJvIjo1MH0"},
			minimal: PipelineRunList{Items: []PipelineRun{}},
			invalid: []invalidCase{
				missing("items"), unknown(), bad("items null (a nil Go slice)", "items", nil, "type"),
			},
		},
	}
}

// --- loading and compiling ---------------------------------------------------

// dirLoader serves schemaBase URLs from schemaDir and refuses anything else,
// so no test ever reaches the network.
type dirLoader struct{}

func (dirLoader) Load(url string) (any, error) {
	name, ok := strings.CutPrefix(url, schemaBase)
	if !ok || strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("no schema at %s: only %s<file> is served", url, schemaBase)
	}
	return readJSONFile(filepath.Join(schemaDir, name))
}

func readJSONFile(path string) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

func newCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(dirLoader{})
	return c
}

// compileAll compiles every schema file by its $id.
func compileAll(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := newCompiler()
	out := map[string]*jsonschema.Schema{}
	for _, f := range schemaFiles(t) {
		s, err := c.Compile(schemaBase + f)
		if err != nil {
			t.Fatalf("compile %s: %v", f, err)
		}
		out[f] = s
	}
	return out
}

func schemaFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(schemaDir, "*.schema.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema files in %s (err %v)", schemaDir, err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	sort.Strings(files)
	return files
}

func loadSchemaFile(t *testing.T, file string) map[string]any {
	t.Helper()
	v, err := readJSONFile(filepath.Join(schemaDir, file))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: not a JSON object", file)
	}
	return m
}

// toDoc marshals v with encoding/json, as producers do, and decodes it the
// way the validator expects.
func toDoc(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return doc
}

// mutate returns doc with the member at path set to value (or removed).
func mutate(t *testing.T, doc any, path string, value any) any {
	t.Helper()
	doc = deepCopy(doc)
	if path == "" {
		return normalize(t, value)
	}
	parts := strings.Split(path, ".")
	cur := doc
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if _, del := value.(deleted); del {
					if _, ok := c[p]; !ok {
						t.Fatalf("mutate %s: no member %q to delete", path, p)
					}
					delete(c, p)
				} else {
					c[p] = normalize(t, value)
				}
				return doc
			}
			cur = c[p]
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n >= len(c) {
				t.Fatalf("mutate %s: bad index %q", path, p)
			}
			if last {
				c[n] = normalize(t, value)
				return doc
			}
			cur = c[n]
		default:
			t.Fatalf("mutate %s: %q is not in an object or array", path, p)
		}
	}
	return doc
}

// normalize turns a Go value into the validator's representation.
func normalize(t *testing.T, v any) any {
	t.Helper()
	if v == nil {
		return nil
	}
	return toDoc(t, v)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// describe renders a validation error with all its causes.
func describe(err error) string {
	if ve, ok := err.(*jsonschema.ValidationError); ok {
		return fmt.Sprintf("%#v", ve)
	}
	return err.Error()
}

// rejectedBy reports whether the validation error has a cause whose keyword
// is kw.
func rejectedBy(err error, kw string) bool {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return false
	}
	var walk func(*jsonschema.ValidationError) bool
	walk = func(e *jsonschema.ValidationError) bool {
		if p := e.ErrorKind.KeywordPath(); len(p) > 0 && p[0] == kw {
			return true
		}
		return slices.ContainsFunc(e.Causes, walk)
	}
	return walk(ve)
}

// --- samples validate, broken documents do not -------------------------------

func TestSchemasAcceptSamplesAndRejectBrokenDocuments(t *testing.T) {
	t.Parallel()
	schemas := compileAll(t)
	for _, tc := range schemaCases() {
		sch := schemas[tc.file]
		if sch == nil {
			t.Errorf("%s: no such schema file", tc.file)
			continue
		}
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			for name, v := range map[string]any{"full": tc.full, "minimal": tc.minimal} {
				if reflect.TypeOf(v) != tc.typ && reflect.TypeOf(v) != reflect.PointerTo(tc.typ) {
					t.Fatalf("%s sample is %T, want %v", name, v, tc.typ)
				}
				if err := sch.Validate(toDoc(t, v)); err != nil {
					t.Errorf("%s sample rejected: %s", name, describe(err))
				}
				assertRoundTrip(t, name, v)
			}
			assertMinimal(t, tc.minimal, tc.minimalSets)
			if len(tc.invalid) < 2 {
				t.Errorf("want at least 2 invalid documents, have %d", len(tc.invalid))
			}
			full := toDoc(t, tc.full)
			for _, ic := range tc.invalid {
				doc := mutate(t, full, ic.path, ic.value)
				err := sch.Validate(doc)
				switch {
				case err == nil:
					t.Errorf("%s: accepted", ic.name)
				case !rejectedBy(err, ic.keyword):
					t.Errorf("%s: rejected, but not by %q: %s", ic.name, ic.keyword, describe(err))
				}
			}
		})
	}
}

// assertRoundTrip checks that the JSON of v decodes back into its type and
// encodes to the same bytes.
func assertRoundTrip(t *testing.T, name string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	back := reflect.New(reflect.TypeOf(v))
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(back.Interface()); err != nil {
		t.Fatalf("%s sample does not decode into %T: %v", name, v, err)
	}
	again, err := json.Marshal(back.Elem().Interface())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Errorf("%s sample changes in a round trip:\n%s\n%s", name, b, again)
	}
}

// assertMinimal checks that a minimal sample sets no omitempty field but
// those the case allows.
func assertMinimal(t *testing.T, v any, allowed []string) {
	t.Helper()
	rv := reflect.Indirect(reflect.ValueOf(v))
	if rv.Kind() != reflect.Struct {
		return
	}
	for _, f := range jsonFields(rv.Type()) {
		if f.omitempty && !rv.FieldByIndex(f.index).IsZero() && !slices.Contains(allowed, f.name) {
			t.Errorf("minimal sample sets optional field %s", f.name)
		}
	}
}

// --- the Go types and the schemas agree --------------------------------------

// jsonField is one JSON member of a Go struct.
type jsonField struct {
	goName    string
	name      string
	omitempty bool
	typ       reflect.Type
	index     []int
}

func jsonFields(typ reflect.Type) []jsonField {
	var out []jsonField
	for _, f := range reflect.VisibleFields(typ) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{
			goName: f.Name, name: name, typ: f.Type, index: f.Index,
			omitempty: slices.Contains(strings.Split(opts, ","), "omitempty"),
		})
	}
	return out
}

// enumValues are the Go constants of the enum types.
var enumValues = map[reflect.Type][]string{
	typeOf[HealthStatus]():      {string(HealthHealthy), string(HealthDegraded), string(HealthUnhealthy), string(HealthUnknown)},
	typeOf[CheckType]():         {string(CheckConnectivity), string(CheckAuthentication), string(CheckFunctionality)},
	typeOf[PipelineRunStatus](): {string(RunQueued), string(RunRunning), string(RunSucceeded), string(RunFailed), string(RunCancelled)},
}

func TestGoTypesAndSchemasAgree(t *testing.T) {
	t.Parallel()
	cases := schemaCases()
	fileOf := map[reflect.Type]string{}
	for _, tc := range cases {
		fileOf[tc.typ] = tc.file
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			s := loadSchemaFile(t, tc.file)
			// The title names the OpenAPI component (schemas/internal/syncopenapi).
			if s["title"] != tc.typ.Name() {
				t.Errorf("title %v, want the Go type name %s", s["title"], tc.typ.Name())
			}
			if vals, ok := enumValues[tc.typ]; ok {
				if got := stringsOf(s["enum"]); !sameSet(got, vals) {
					t.Errorf("enum %v, Go constants %v", got, vals)
				}
				return
			}
			if tc.typ.Kind() != reflect.Struct {
				t.Fatalf("%v: no rule for a %v", tc.typ, tc.typ.Kind())
			}
			if s["type"] != "object" || s["additionalProperties"] != false {
				t.Errorf("a Go struct is a closed object: want type object and additionalProperties false")
			}
			props, _ := s["properties"].(map[string]any)
			var goNames, required []string
			for _, f := range jsonFields(tc.typ) {
				goNames = append(goNames, f.name)
				if !f.omitempty {
					required = append(required, f.name)
				}
				prop, ok := props[f.name].(map[string]any)
				if !ok {
					t.Errorf("field %s.%s (json %q) is not in the schema's properties", tc.typ.Name(), f.goName, f.name)
					continue
				}
				checkProperty(t, f.name, f.typ, prop, fileOf)
			}
			for name := range props {
				if !slices.Contains(goNames, name) {
					t.Errorf("schema property %q has no field in %v", name, tc.typ)
				}
			}
			if got := stringsOf(s["required"]); !sameSet(got, required) {
				t.Errorf("required %v, want the fields without omitempty %v", got, required)
			}
		})
	}
}

var timeType = typeOf[time.Time]()

// checkProperty checks that a property's schema fits the Go type of its
// field.
func checkProperty(t *testing.T, where string, ft reflect.Type, prop map[string]any, fileOf map[reflect.Type]string) {
	t.Helper()
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	wantType := func(want string) {
		t.Helper()
		if prop["type"] != want {
			t.Errorf("%s: Go %v, schema type %v, want %q", where, ft, prop["type"], want)
		}
	}
	if ft == timeType {
		wantType("string")
		if prop["format"] != "date-time" {
			t.Errorf("%s: a time.Time needs format date-time", where)
		}
		return
	}
	if file, ok := fileOf[ft]; ok {
		if ref, isRef := prop["$ref"].(string); isRef {
			if ref != file {
				t.Errorf("%s: $ref %q, want %q for %v", where, ref, file, ft)
			}
			return
		}
		// An enum type may be narrowed inline to some of its values.
		if vals, isEnum := enumValues[ft]; isEnum && prop["enum"] != nil {
			for _, v := range stringsOf(prop["enum"]) {
				if !slices.Contains(vals, v) {
					t.Errorf("%s: enum value %q is not a %v", where, v, ft)
				}
			}
			wantType("string")
			return
		}
		t.Errorf("%s: a %v needs $ref %q", where, ft, file)
		return
	}
	switch ft.Kind() {
	case reflect.String:
		// A plain string may be narrowed to one of the enum schemas.
		if ref, isRef := prop["$ref"].(string); isRef {
			for typ, vals := range enumValues {
				if fileOf[typ] == ref && vals != nil {
					return
				}
			}
			t.Errorf("%s: a Go string refers to %q, which is not an enum schema", where, ref)
			return
		}
		wantType("string")
	case reflect.Bool:
		wantType("boolean")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		wantType("integer")
	case reflect.Float32, reflect.Float64:
		wantType("number")
	case reflect.Interface:
		if prop["type"] != nil {
			t.Errorf("%s: an interface field takes any JSON value, schema says type %v", where, prop["type"])
		}
	case reflect.Slice:
		wantType("array")
		items, _ := prop["items"].(map[string]any)
		checkProperty(t, where+"[]", ft.Elem(), items, fileOf)
	case reflect.Map:
		wantType("object")
		if ft.Key().Kind() != reflect.String {
			t.Errorf("%s: map key %v does not marshal to a JSON object key", where, ft.Key())
		}
		if file, ok := fileOf[ft.Key()]; ok {
			names, _ := prop["propertyNames"].(map[string]any)
			if names["$ref"] != file {
				t.Errorf("%s: keys are %v, want propertyNames $ref %q", where, ft.Key(), file)
			}
		}
		add := prop["additionalProperties"]
		if ft.Elem().Kind() == reflect.Interface {
			if add != nil && add != true {
				t.Errorf("%s: map of any takes any value, schema has additionalProperties %v", where, add)
			}
			return
		}
		sub, _ := add.(map[string]any)
		checkProperty(t, where+"{}", ft.Elem(), sub, fileOf)
	default:
		t.Errorf("%s: no rule for Go %v", where, ft)
	}
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestEverySchemaIsCovered fails on a schema file without a test case, a
// test case without a file, and an exported type of this package without a
// schema.
func TestEverySchemaIsCovered(t *testing.T) {
	t.Parallel()
	cases := schemaCases()
	var tableFiles []string
	tableTypes := map[string]bool{}
	for _, tc := range cases {
		if slices.Contains(tableFiles, tc.file) {
			t.Errorf("%s: two test cases", tc.file)
		}
		tableFiles = append(tableFiles, tc.file)
		tableTypes[tc.typ.Name()] = true
	}
	for _, f := range schemaFiles(t) {
		if !slices.Contains(tableFiles, f) {
			t.Errorf("orphan schema %s: add a case to schemaCases", f)
		}
	}
	for _, f := range tableFiles {
		if _, err := os.Stat(filepath.Join(schemaDir, f)); err != nil {
			t.Errorf("test case for missing file %s", f)
		}
	}
	for _, name := range exportedTypes(t) {
		if !tableTypes[name] {
			t.Errorf("type %s has no schema: add schemas/<name>.schema.json and a case to schemaCases", name)
		}
	}
}

// exportedTypes lists the exported type declarations of this package.
func exportedTypes(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				if ts := s.(*ast.TypeSpec); ts.Name.IsExported() {
					names = append(names, ts.Name.Name)
				}
			}
		}
	}
	return names
}

// TestSchemaFilesAreWellFormed checks the $id, the draft and that every $ref
// is a relative reference to a file beside it.
func TestSchemaFilesAreWellFormed(t *testing.T) {
	t.Parallel()
	for _, f := range schemaFiles(t) {
		s := loadSchemaFile(t, f)
		if s["$id"] != schemaBase+f {
			t.Errorf("%s: $id %v, want %s", f, s["$id"], schemaBase+f)
		}
		if s["$schema"] != draft202012 {
			t.Errorf("%s: $schema %v, want %s", f, s["$schema"], draft202012)
		}
		if s["title"] == nil || s["description"] == nil {
			t.Errorf("%s: needs a title and a description", f)
		}
		walkRefs(s, func(ref string) {
			file, _, _ := strings.Cut(ref, "#")
			if file == "" || strings.ContainsAny(file, "/:") {
				t.Errorf("%s: $ref %q is not a relative reference to a sibling file", f, ref)
				return
			}
			if _, err := os.Stat(filepath.Join(schemaDir, file)); err != nil {
				t.Errorf("%s: $ref %q: %v", f, ref, err)
			}
		})
	}
}

func walkRefs(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				fn(s)
				continue
			}
			walkRefs(e, fn)
		}
	case []any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	}
}

// --- openapi.json ------------------------------------------------------------

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(schemaDir, "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatal("openapi.json is not valid JSON")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

// get follows a path of keys through nested objects.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// deref follows local "#/..." references of doc until v is not one.
func deref(t *testing.T, doc, v any) any {
	t.Helper()
	for range 10 {
		ref, ok := get(v, "$ref").(string)
		if !ok || !strings.HasPrefix(ref, "#/") {
			return v
		}
		v = lookup(t, doc, ref)
	}
	return v
}

// lookup resolves one local "#/..." reference.
func lookup(t *testing.T, doc any, ref string) any {
	t.Helper()
	v := doc
	for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		v = get(v, strings.NewReplacer("~1", "/", "~0", "~").Replace(p))
	}
	if v == nil {
		t.Fatalf("$ref %s does not resolve", ref)
	}
	return v
}

// openAPIComponent is what a schema file must look like inside
// components/schemas: no $id or $schema, and references to sibling files
// turned into references to their components.
func openAPIComponent(v any, own string, componentOf map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			switch k {
			case "$id", "$schema":
			case "$ref":
				file, frag, _ := strings.Cut(e.(string), "#")
				target := own
				if file != "" {
					target = componentOf[file]
				}
				out[k] = "#/components/schemas/" + target + frag
			default:
				out[k] = openAPIComponent(e, own, componentOf)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = openAPIComponent(e, own, componentOf)
		}
		return out
	}
	return v
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v, want 3.1.0", doc["openapi"])
	}

	t.Run("paths and methods", func(t *testing.T) {
		want := map[string][]string{
			"/api/v1/integrations":               {"get", "post"},
			"/api/v1/integrations/{id}":          {"get", "put", "patch", "delete"},
			"/api/v1/integrations/providers":     {"get"},
			"/api/v1/integrations/{id}/test":     {"post"},
			"/api/v1/integrations/{id}/discover": {"post"},
			"/api/v1/integrations/{id}/query":    {"post"},
			"/api/v1/analysis-runs":              {"post"},
			"/api/v1/analysis-runs/{id}":         {"get"},
			"/api/v1/analysis-runs/{id}/cancel":  {"post"},
			"/api/v1/notification-rules":         {"get", "post"},
			"/api/v1/notification-rules/{id}":    {"get", "put", "delete"},
			"/healthz":                           {"get"},
			"/readyz":                            {"get"},
			"/api/v1/openapi.json":               {"get"},
			"/api/v1/whoami":                     {"get"},
		}
		for path, methods := range want {
			item, ok := get(doc, "paths", path).(map[string]any)
			if !ok {
				t.Errorf("path %s missing", path)
				continue
			}
			for _, m := range methods {
				if get(item, m, "responses") == nil {
					t.Errorf("%s %s missing", strings.ToUpper(m), path)
				}
			}
		}
	})

	t.Run("components equal the schema files", func(t *testing.T) {
		componentOf := map[string]string{}
		for _, tc := range schemaCases() {
			componentOf[tc.file] = tc.typ.Name()
		}
		comps, _ := get(doc, "components", "schemas").(map[string]any)
		wants := map[string]any{}
		for file, name := range componentOf {
			wants[name] = openAPIComponent(loadSchemaFile(t, file), name, componentOf)
		}
		used := usedComponents(doc, wants)
		for file, name := range componentOf {
			want := wants[name]
			got, ok := comps[name]
			switch {
			case !used[name]:
				// A bus-only schema (asyncapi.yaml refers to its file).
				if ok {
					t.Errorf("components/schemas/%s (from %s) is used by nothing in openapi.json (run go generate in schemas/)", name, file)
				}
			case !ok:
				t.Errorf("components/schemas/%s (from %s) missing (run go generate in schemas/)", name, file)
			case !reflect.DeepEqual(got, want):
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				t.Errorf("components/schemas/%s differs from %s (run go generate in schemas/):\n got %s\nwant %s", name, file, gb, wb)
			}
		}
		for name := range comps {
			if !slices.Contains(mapValues(componentOf), name) {
				t.Errorf("components/schemas/%s has no schema file", name)
			}
		}
	})

	t.Run("every reference resolves and every example validates", func(t *testing.T) {
		c := newCompiler()
		c.UseLoader(refuseLoader{}) // the document must be self-contained
		const url = schemaBase + "openapi.json"
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
		walkRefs(doc, func(ref string) {
			if !strings.HasPrefix(ref, "#/") {
				t.Errorf("$ref %q leaves the document", ref)
				return
			}
			deref(t, doc, map[string]any{"$ref": ref})
		})
		checked := 0
		walkExamples(doc, "", func(ptr string, example any) {
			sch, err := c.Compile(url + "#" + ptr)
			if err != nil {
				t.Errorf("compile %s: %v", ptr, err)
				return
			}
			if err := sch.Validate(deref(t, doc, example)); err != nil {
				t.Errorf("example of %s does not validate: %s", ptr, describe(err))
			}
			checked++
		})
		if checked < 20 {
			t.Errorf("validated only %d examples", checked)
		}
		for name := range get(doc, "components", "examples").(map[string]any) {
			sch, err := c.Compile(url + "#/components/schemas/ErrorBody")
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(get(doc, "components", "examples", name, "value")); err != nil {
				t.Errorf("example %s is not an ErrorBody: %s", name, describe(err))
			}
		}
		// The samples validate against the inlined components too.
		comps, _ := get(doc, "components", "schemas").(map[string]any)
		for _, tc := range schemaCases() {
			if _, ok := comps[tc.typ.Name()]; !ok {
				continue // a bus-only type: its schema file is checked above
			}
			sch, err := c.Compile(url + "#/components/schemas/" + tc.typ.Name())
			if err != nil {
				t.Errorf("compile component %s: %v", tc.typ.Name(), err)
				continue
			}
			if err := sch.Validate(toDoc(t, tc.full)); err != nil {
				t.Errorf("full %s rejected by its component: %s", tc.typ.Name(), describe(err))
			}
		}
	})

	t.Run("error codes and statuses", func(t *testing.T) {
		want := map[string]string{
			"UNAUTHORIZED": "401", "INTEGRATION_NOT_FOUND": "404",
			"MALFORMED_JSON": "400", "UNKNOWN_PROVIDER": "400", "UNKNOWN_CONFIG_FIELD": "400",
			"MISSING_REQUIRED_FIELD": "400", "INVALID_FIELD_TYPE": "400", "INVALID_URL": "400",
			"LITERAL_SECRET": "400", "INVALID_CREDENTIAL_REF": "400", "CREDENTIAL_REF_NOT_ALLOWED": "400", "INVALID_LABEL": "400",
			"INVALID_LABEL_SELECTOR": "400", "INVALID_CURSOR": "400", "VALIDATION_FAILED": "400",
			"PAYLOAD_TOO_LARGE": "413", "UNSUPPORTED_MEDIA_TYPE": "415", "PRECONDITION_FAILED": "412",
			"IMMUTABLE_FIELD": "400", "UNSUPPORTED_RESOURCE_TYPE": "400", "TIMEOUT": "504",
			"UNAVAILABLE": "503", "INTERNAL": "500",
			"INVALID_TEMPLATE": "400", "INVALID_TARGET": "400", "NOTIFICATION_RULE_NOT_FOUND": "404",
		}
		found := map[string]string{} // code -> status it is documented under
		eachOperation(doc, func(path, method string, op map[string]any) {
			for status, r := range get(op, "responses").(map[string]any) {
				resp := deref(t, doc, r)
				if status[0] == '4' || status[0] == '5' {
					if ref := get(resp, "content", "application/json", "schema", "$ref"); ref != "#/components/schemas/ErrorBody" {
						t.Errorf("%s %s %s: error response is not an ErrorBody", method, path, status)
					}
				}
				examples, _ := get(resp, "content", "application/json", "examples").(map[string]any)
				for _, ex := range examples {
					if code, ok := get(deref(t, doc, ex), "value", "code").(string); ok {
						if prev, dup := found[code]; dup && prev != status {
							t.Errorf("code %s documented under %s and %s", code, prev, status)
						}
						found[code] = status
					}
				}
			}
		})
		for code, status := range want {
			if found[code] != status {
				t.Errorf("code %s: documented under %q, want %s", code, found[code], status)
			}
		}
	})

	t.Run("conditional requests", func(t *testing.T) {
		item := get(doc, "paths", "/api/v1/integrations/{id}")
		for _, m := range []string{"put", "patch", "delete"} {
			var hasIfMatch bool
			for _, p := range get(item, m, "parameters").([]any) {
				p = deref(t, doc, p)
				if get(p, "name") == "If-Match" && get(p, "in") == "header" {
					hasIfMatch = true
				}
			}
			if !hasIfMatch {
				t.Errorf("%s: no If-Match header parameter", m)
			}
			if get(item, m, "responses", "412") == nil {
				t.Errorf("%s: no 412 response", m)
			}
		}
		for _, m := range []string{"get", "put", "patch"} {
			if get(item, m, "responses", "200", "headers", "ETag") == nil {
				t.Errorf("%s 200: no ETag header", m)
			}
		}
		if get(doc, "paths", "/api/v1/integrations", "post", "responses", "201", "headers", "ETag") == nil {
			t.Error("POST 201: no ETag header")
		}
		if get(item, "patch", "requestBody", "content", "application/merge-patch+json") == nil {
			t.Error("PATCH does not take application/merge-patch+json")
		}
		etag := deref(t, doc, get(doc, "components", "headers", "ETag"))
		if get(etag, "example") != `"3"` {
			t.Errorf("ETag example %v, want the revision in quotes", get(etag, "example"))
		}
	})

	t.Run("parameters", func(t *testing.T) {
		params := func(path, method string) map[string]any {
			out := map[string]any{}
			for _, p := range get(doc, "paths", path, method, "parameters").([]any) {
				p = deref(t, doc, p)
				out[get(p, "name").(string)] = get(p, "schema")
			}
			return out
		}
		list := params("/api/v1/integrations", "get")
		for _, name := range []string{"typeId", "category", "labelSelector", "healthStatus", "limit", "cursor"} {
			if _, ok := list[name]; !ok {
				t.Errorf("list: no query parameter %s", name)
			}
		}
		limit := list["limit"]
		if fmt.Sprintf("%v %v %v", get(limit, "minimum"), get(limit, "maximum"), get(limit, "default")) != "1 500 50" {
			t.Errorf("limit: want 1..500 default 50, have %v", limit)
		}
		if get(params("/api/v1/integrations/providers", "get")["includeTestOnly"], "type") != "boolean" {
			t.Error("providers: includeTestOnly is not a boolean query parameter")
		}
		if get(params("/api/v1/integrations/{id}/discover", "post")["refresh"], "type") != "boolean" {
			t.Error("discover: refresh is not a boolean query parameter")
		}
		bodies := map[string]string{
			"/api/v1/integrations post":               "#/components/schemas/IntegrationInput",
			"/api/v1/integrations/{id} put":           "#/components/schemas/IntegrationInput",
			"/api/v1/integrations/{id}/discover post": "#/components/schemas/DiscoveryRequest",
		}
		for op, want := range bodies {
			path, method, _ := strings.Cut(op, " ")
			if got := get(doc, "paths", path, method, "requestBody", "content", "application/json", "schema", "$ref"); got != want {
				t.Errorf("%s body %v, want %s", op, got, want)
			}
		}
		answers := map[string]string{
			"/api/v1/integrations get 200":                "IntegrationList",
			"/api/v1/integrations post 201":               "Integration",
			"/api/v1/integrations/{id} get 200":           "Integration",
			"/api/v1/integrations/providers get 200":      "ProviderList",
			"/api/v1/integrations/{id}/test post 200":     "TestResponse",
			"/api/v1/integrations/{id}/discover post 200": "DiscoveryResult",
		}
		for op, want := range answers {
			f := strings.Fields(op)
			if got := get(doc, "paths", f[0], f[1], "responses", f[2], "content", "application/json", "schema", "$ref"); got != "#/components/schemas/"+want {
				t.Errorf("%s answers %v, want %s", op, got, want)
			}
		}
		if get(doc, "paths", "/api/v1/integrations/{id}/test", "post", "responses", "504") == nil {
			t.Error("test: no 504")
		}
	})

	t.Run("security", func(t *testing.T) {
		scheme := get(doc, "components", "securitySchemes", "bearerAuth")
		if get(scheme, "type") != "http" || get(scheme, "scheme") != "bearer" {
			t.Errorf("bearerAuth is %v, want http bearer", scheme)
		}
		if !reflect.DeepEqual(doc["security"], []any{map[string]any{"bearerAuth": []any{}}}) {
			t.Errorf("global security %v, want bearerAuth", doc["security"])
		}
		eachOperation(doc, func(path, method string, op map[string]any) {
			public := path == "/healthz" || path == "/readyz" || path == "/api/v1/openapi.json"
			// A provider's webhook is authenticated by its signature, not a token.
			signed := path == "/api/v1/hooks/{integrationId}"
			if public || signed {
				if op["security"] == nil {
					t.Errorf("%s %s: public or signed but security=%v", method, path, op["security"])
				}
			} else if op["security"] != nil {
				t.Errorf("%s %s: not public but security=%v", method, path, op["security"])
			}
			if !public && get(op, "responses", "401") == nil {
				t.Errorf("%s %s: no 401", method, path)
			}
		})
	})
}

// refuseLoader loads nothing: a document compiled with it must hold all it
// refers to.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s is outside the document", url)
}

func eachOperation(doc map[string]any, fn func(path, method string, op map[string]any)) {
	for path, item := range get(doc, "paths").(map[string]any) {
		for method, op := range item.(map[string]any) {
			if o, ok := op.(map[string]any); ok && method != "parameters" {
				fn(path, method, o)
			}
		}
	}
}

// walkExamples calls fn with the JSON pointer of each schema that has an
// example beside it (media types, parameters, headers).
func walkExamples(v any, ptr string, fn func(schemaPtr string, example any)) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["schema"].(map[string]any); ok {
			if ex, ok := x["example"]; ok {
				fn(ptr+"/schema", ex)
			}
			if exs, ok := x["examples"].(map[string]any); ok {
				for _, ex := range exs {
					if ref, isRef := get(ex, "$ref").(string); isRef {
						fn(ptr+"/schema", map[string]any{"$ref": ref + "/value"})
					} else {
						fn(ptr+"/schema", get(ex, "value"))
					}
				}
			}
		}
		for k, e := range x {
			walkExamples(e, ptr+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k), fn)
		}
	case []any:
		for i, e := range x {
			walkExamples(e, ptr+"/"+strconv.Itoa(i), fn)
		}
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// --- asyncapi.yaml -----------------------------------------------------------

// subjectPayloads names the schema of each subject prefix's body.
var subjectPayloads = map[string]string{
	SubjectCreated:             "lifecycle-event.schema.json",
	SubjectUpdated:             "lifecycle-event.schema.json",
	SubjectDeleted:             "lifecycle-event.schema.json",
	SubjectTestRequested:       "test-requested.schema.json",
	SubjectTestCompleted:       "test-completed.schema.json",
	SubjectHealthCheckRequest:  "health-check-requested.schema.json",
	SubjectHealthChecked:       "health-checked.schema.json",
	SubjectHealthChanged:       "health-changed.schema.json",
	SubjectDiscoveryRequested:  "discovery-requested.schema.json",
	SubjectDiscoveryCompleted:  "discovery-completed.schema.json",
	SubjectNotificationRequest: "notification-send-requested.schema.json",
	SubjectNotificationSent:    "notification-outcome.schema.json",
	SubjectNotificationFailed:  "notification-outcome.schema.json",
	SubjectMetricsQueryRequest: "metrics-query-requested.schema.json",
	SubjectMetricsQueryDone:    "metrics-query-completed.schema.json",
	SubjectAnalysisRequested:   "analysis-run-requested.schema.json",
	SubjectAnalysisCancel:      "analysis-run-cancel-requested.schema.json",
	SubjectAnalysisMeasured:    "analysis-run-measured.schema.json",
	SubjectAnalysisCompleted:   "analysis-run-completed.schema.json",
	SubjectPipelineTrigger:     "pipeline-trigger-requested.schema.json",
	SubjectPipelineCancel:      "pipeline-cancel-requested.schema.json",
	SubjectRunStarted:          "pipeline-run-event.schema.json",
	SubjectRunChanged:          "pipeline-run-event.schema.json",
	SubjectRunCompleted:        "pipeline-run-event.schema.json",
	SubjectAudit:               "audit-record.schema.json",
}

// lastParameter is the subject's last token: the run of analysis
// subjects, the integration of every other.
func lastParameter(prefix string) string {
	if strings.HasPrefix(prefix, "analysis.") {
		return "runId"
	}
	return "integrationId"
}

// loadAsyncAPI parses asyncapi.yaml with yaml.v3 and re-encodes it as JSON
// values, so it can be walked like openapi.json and compiled.
func loadAsyncAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(schemaDir, "asyncapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("asyncapi.yaml: %v", err)
	}
	return toDoc(t, raw).(map[string]any)
}

func TestAsyncAPI(t *testing.T) {
	t.Parallel()
	doc := loadAsyncAPI(t)
	if doc["asyncapi"] != "3.1.0" {
		t.Fatalf("asyncapi %v, want 3.1.0", doc["asyncapi"])
	}
	channels := get(doc, "channels").(map[string]any)
	byAddress := map[string]string{} // address -> channel id
	for id, ch := range channels {
		if a, ok := get(ch, "address").(string); ok {
			byAddress[a] = id
		}
	}
	const url = schemaBase + "asyncapi.yaml"
	c := newCompiler()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	compile := func(ptr string) *jsonschema.Schema {
		t.Helper()
		s, err := c.Compile(url + "#" + ptr)
		if err != nil {
			t.Fatalf("compile %s: %v", ptr, err)
		}
		return s
	}
	samples := map[string]any{}
	for _, tc := range schemaCases() {
		samples[tc.file] = tc.full
	}

	t.Run("references resolve", func(t *testing.T) {
		walkRefs(doc, func(ref string) {
			if strings.HasPrefix(ref, "#/") {
				deref(t, doc, map[string]any{"$ref": ref})
				return
			}
			file, ok := strings.CutPrefix(ref, "./")
			if !ok || !strings.HasSuffix(file, ".schema.json") {
				t.Errorf("$ref %q: want #/... or ./<name>.schema.json", ref)
			} else if _, err := os.Stat(filepath.Join(schemaDir, file)); err != nil {
				t.Errorf("$ref %q: %v", ref, err)
			}
		})
	})

	t.Run("streams", func(t *testing.T) {
		desc, _ := get(doc, "info", "description").(string)
		for _, s := range []string{"INTHUB_COMMANDS", "INTHUB_EVENTS", "INTHUB_DLQ", "work-queue", "limits"} {
			if !strings.Contains(desc, s) {
				t.Errorf("info.description does not mention %s", s)
			}
		}
	})

	operations := get(doc, "operations").(map[string]any)
	actionsOn := func(channelID string) []string {
		var out []string
		for _, op := range operations {
			if get(op, "channel", "$ref") == "#/channels/"+channelID {
				out = append(out, get(op, "action").(string))
			}
		}
		return out
	}

	for _, group := range []struct {
		stream   string
		subjects []string
		action   string // what the hub does with them
	}{
		{"INTHUB_COMMANDS", CommandSubjects, "receive"},
		{"INTHUB_EVENTS", EventSubjects, "send"},
	} {
		for _, prefix := range group.subjects {
			t.Run(prefix, func(t *testing.T) {
				address := prefix + ".{tenantId}.{" + lastParameter(prefix) + "}"
				id, ok := byAddress[address]
				if !ok {
					t.Fatalf("no channel with address %s", address)
				}
				ch := channels[id]
				if get(ch, "x-stream") != group.stream {
					t.Errorf("x-stream %v, want %s", get(ch, "x-stream"), group.stream)
				}
				for _, p := range []string{"tenantId", lastParameter(prefix)} {
					if get(ch, "parameters", p) == nil {
						t.Errorf("no parameter %s", p)
					}
				}
				if !slices.Contains(actionsOn(id), group.action) {
					t.Errorf("no %s operation", group.action)
				}
				msgs, _ := get(ch, "messages").(map[string]any)
				if len(msgs) != 1 {
					t.Fatalf("want one message, have %d", len(msgs))
				}
				for name, m := range msgs {
					msg := deref(t, doc, m)
					msgPtr := strings.TrimPrefix(get(m, "$ref").(string), "#")
					wantFile := subjectPayloads[prefix]
					if got := get(msg, "payload", "$ref"); got != "./"+wantFile {
						t.Errorf("message %s: payload %v, want ./%s", name, got, wantFile)
					}
					if err := compile(msgPtr + "/payload").Validate(toDoc(t, samples[wantFile])); err != nil {
						t.Errorf("message %s: sample payload rejected: %s", name, describe(err))
					}
					headers := compile(msgPtr + "/headers")
					h := map[string]any{
						"ce-specversion": "1.0", "ce-id": "01JNB6Q3S4V5W6X7Y8Z9A0B1C2", "ce-type": EventType(prefix),
						"ce-source": "/inthub/test", "ce-time": t0.Format(time.RFC3339Nano), "ce-subject": intID,
						"content-type": "application/json", "Nats-Msg-Id": "01JNB6Q3S4V5W6X7Y8Z9A0B1C2",
						"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
					}
					if err := headers.Validate(h); err != nil {
						t.Errorf("message %s: CloudEvents headers rejected: %s", name, describe(err))
					}
					h["ce-type"] = EventType("integration.other")
					if headers.Validate(h) == nil {
						t.Errorf("message %s: accepts a foreign ce-type", name)
					}
				}
			})
		}
	}

	auditAddress := SubjectAudit + ".{tenantId}.{resourceType}.{resourceId}"
	t.Run("audit records", func(t *testing.T) {
		id, ok := byAddress[auditAddress]
		if !ok {
			t.Fatalf("no channel with address %s", auditAddress)
		}
		if get(channels[id], "x-stream") != "INTHUB_AUDIT" {
			t.Errorf("x-stream %v, want INTHUB_AUDIT", get(channels[id], "x-stream"))
		}
		if !slices.Contains(actionsOn(id), "send") {
			t.Error("no send operation")
		}
		for name, m := range get(channels[id], "messages").(map[string]any) {
			msgPtr := strings.TrimPrefix(get(m, "$ref").(string), "#")
			if err := compile(msgPtr + "/payload").Validate(toDoc(t, sampleAuditRecord())); err != nil {
				t.Errorf("message %s: sample record rejected: %s", name, describe(err))
			}
			h := map[string]any{
				"ce-specversion": "1.0", "ce-id": "integration:" + intID + ":3", "ce-type": SubjectAudit,
				"ce-source": "/inthub/test", "ce-time": t0.Format(time.RFC3339Nano), "ce-subject": intID,
				"content-type": "application/json", "Nats-Msg-Id": "integration:" + intID + ":3",
			}
			if err := compile(msgPtr + "/headers").Validate(h); err != nil {
				t.Errorf("message %s: CloudEvents headers rejected: %s", name, describe(err))
			}
		}
	})

	t.Run("no channel beyond contracts", func(t *testing.T) {
		known := append(slices.Clone(CommandSubjects), EventSubjects...)
		for address := range byAddress {
			if address == auditAddress {
				continue // checked above
			}
			if strings.HasPrefix(address, "inthub.manager.") || strings.HasPrefix(address, "inthub.notifier.rules.") || strings.HasPrefix(address, "inthub.analyzer.runs.") || strings.HasPrefix(address, "inthub.pipeline-runner.runs.") || address == "inthub.pipeline-runner.hooks.receive" || address == "inthub.replay.>" {
				continue // request-reply endpoints and replayed copies
			}
			prefix, _, _ := strings.Cut(address, ".{tenantId}.")
			if address != prefix+".{tenantId}.{"+lastParameter(prefix)+"}" || !slices.Contains(known, prefix) {
				t.Errorf("channel %s is not a subject of contracts/subjects.go", address)
			}
		}
	})

	t.Run("CloudEvents headers", func(t *testing.T) {
		props, _ := get(doc, "components", "schemas", "CloudEventHeaders", "properties").(map[string]any)
		for _, h := range []string{"ce-specversion", "ce-id", "ce-type", "ce-source", "ce-time", "ce-subject", "content-type", "traceparent", "Nats-Msg-Id"} {
			if props[h] == nil {
				t.Errorf("CloudEventHeaders has no %s", h)
			}
		}
	})

	t.Run("manager request-reply", func(t *testing.T) {
		input := toDoc(t, sampleInput())
		patch := map[string]any{"name": "Production Registry (EU)", "labels": map[string]any{"legacy": nil}}
		endpoints := []struct {
			subject string
			request map[string]any
			replies []string // payload files of the success reply
		}{
			{"inthub.manager.integrations.create", map[string]any{"tenantId": tenantID, "input": input}, []string{"integration.schema.json"}},
			{"inthub.manager.integrations.create", map[string]any{"tenantId": tenantID, "input": input, "idempotencyKey": "release-42-hooks"}, []string{"integration.schema.json"}},
			{"inthub.manager.integrations.get", map[string]any{"tenantId": tenantID, "id": intID}, []string{"integration.schema.json"}},
			{"inthub.manager.integrations.list", map[string]any{"tenantId": tenantID, "query": toDoc(t, ListQuery{Limit: 50, LabelSelector: "env=prod"})}, []string{"integration-list.schema.json"}},
			{"inthub.manager.integrations.replace", map[string]any{"tenantId": tenantID, "id": intID, "ifMatch": 3, "input": input}, []string{"integration.schema.json"}},
			{"inthub.manager.integrations.patch", map[string]any{"tenantId": tenantID, "id": intID, "ifMatch": 3, "patch": patch}, []string{"integration.schema.json"}},
			{"inthub.manager.integrations.delete", map[string]any{"tenantId": tenantID, "id": intID, "ifMatch": 3}, []string{"integration.schema.json"}},
			{"inthub.manager.providers.list", map[string]any{"includeTestOnly": true}, []string{"provider-list.schema.json"}},
		}
		for _, ep := range endpoints {
			t.Run(ep.subject, func(t *testing.T) {
				id, ok := byAddress[ep.subject]
				if !ok {
					t.Fatalf("no channel %s", ep.subject)
				}
				var op any
				for _, o := range operations {
					if get(o, "channel", "$ref") == "#/channels/"+id {
						op = o
					}
				}
				if get(op, "action") != "receive" || get(op, "reply") == nil {
					t.Fatalf("want a receive operation with a reply, have %v", op)
				}
				for _, m := range get(op, "messages").([]any) {
					// operation -> channel message -> components/messages/<id>
					entry := lookup(t, doc, fmt.Sprint(get(m, "$ref")))
					msgPtr, ok := strings.CutPrefix(fmt.Sprint(get(entry, "$ref")), "#")
					if !ok {
						t.Fatalf("channel message %v is not a reference to a component", entry)
					}
					req := compile(msgPtr + "/payload")
					if err := req.Validate(ep.request); err != nil {
						t.Errorf("request %v rejected: %s", ep.request, describe(err))
					}
					broken := deepCopy(ep.request).(map[string]any)
					broken["surprise"] = 1
					if req.Validate(broken) == nil {
						t.Error("request with an unknown member accepted")
					}
				}
				var replyFiles []string
				var errorReply bool
				for _, r := range get(op, "reply", "messages").([]any) {
					msg := deref(t, doc, r)
					file := strings.TrimPrefix(fmt.Sprint(get(msg, "payload", "$ref")), "./")
					if file == "error.schema.json" {
						errorReply = true
						for _, h := range []string{"Nats-Service-Error", "Nats-Service-Error-Code"} {
							if get(deref(t, doc, get(msg, "headers")), "properties", h) == nil {
								t.Errorf("error reply has no header %s", h)
							}
						}
						continue
					}
					replyFiles = append(replyFiles, file)
				}
				if !errorReply {
					t.Error("no ErrorBody reply")
				}
				if !sameSet(replyFiles, ep.replies) {
					t.Errorf("replies %v, want %v", replyFiles, ep.replies)
				}
			})
		}
		for _, r := range []map[string]any{
			{"id": intID}, // no tenant
			{"tenantId": tenantID, "id": "not-a-uuid"}, // bad id
		} {
			if compile("/components/schemas/GetIntegrationRequest").Validate(r) == nil {
				t.Errorf("get request %v accepted", r)
			}
		}
		if compile("/components/schemas/ReplaceIntegrationRequest").Validate(map[string]any{
			"tenantId": tenantID, "id": intID, "ifMatch": "3", "input": input,
		}) == nil {
			t.Error("replace request with a string ifMatch accepted")
		}
	})
}

// usedComponents names the component schemas openapi.json uses: referred to
// from outside components/schemas, or by a used one (in its expected form,
// want), as schemas/internal/syncopenapi keeps them.
func usedComponents(doc map[string]any, want map[string]any) map[string]bool {
	const prefix = "#/components/schemas/"
	used := map[string]bool{}
	var queue []string
	visit := func(ref string) {
		if !strings.HasPrefix(ref, prefix) {
			return
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(ref, prefix), "/")
		if !used[name] {
			used[name] = true
			queue = append(queue, name)
		}
	}
	for k, v := range doc {
		if k != "components" {
			walkRefs(v, visit)
			continue
		}
		for ck, cv := range v.(map[string]any) {
			if ck != "schemas" {
				walkRefs(cv, visit)
			}
		}
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if w, ok := want[name]; ok {
			walkRefs(w, visit)
		}
	}
	return used
}
