package contracts

import (
	"sort"
	"strings"
)

// Subject prefixes, one per message type. Tenant and integration follow, as in
// integration.health.changed.<tenantId>.<integrationId>.
const (
	SubjectCreated             = "integration.created"
	SubjectUpdated             = "integration.updated"
	SubjectDeleted             = "integration.deleted"
	SubjectTestRequested       = "integration.test.requested"
	SubjectTestCompleted       = "integration.test.completed"
	SubjectHealthCheckRequest  = "integration.health.check.requested"
	SubjectHealthChecked       = "integration.health.checked"
	SubjectHealthChanged       = "integration.health.changed"
	SubjectDiscoveryRequested  = "integration.discovery.requested"
	SubjectDiscoveryCompleted  = "integration.discovery.completed"
	SubjectNotificationRequest = "notification.send.requested"
	SubjectNotificationSent    = "notification.sent"
	SubjectNotificationFailed  = "notification.failed"
	SubjectMetricsQueryRequest = "metrics.query.requested"
	SubjectMetricsQueryDone    = "metrics.query.completed"
	// Analysis subjects end in <tenantId>.<runId> rather than an
	// integration: a run measures several integrations.
	SubjectAnalysisRequested = "analysis.run.requested"
	SubjectAnalysisCancel    = "analysis.run.cancel.requested"
	SubjectAnalysisMeasured  = "analysis.run.measured"
	SubjectAnalysisCompleted = "analysis.run.completed"
	SubjectPipelineTrigger   = "pipeline.trigger.requested"
	SubjectPipelineCancel    = "pipeline.cancel.requested"
	SubjectRunStarted        = "pipeline.run.started"
	SubjectRunChanged        = "pipeline.run.changed"
	SubjectRunCompleted      = "pipeline.run.completed"
)

// CommandSubjects are the prefixes carried by INTHUB_COMMANDS.
var CommandSubjects = []string{
	SubjectTestRequested, SubjectHealthCheckRequest, SubjectDiscoveryRequested, SubjectNotificationRequest,
	SubjectMetricsQueryRequest, SubjectAnalysisRequested, SubjectAnalysisCancel,
	SubjectPipelineTrigger, SubjectPipelineCancel,
}

// EventSubjects are the prefixes carried by INTHUB_EVENTS.
var EventSubjects = []string{
	SubjectCreated, SubjectUpdated, SubjectDeleted, SubjectTestCompleted, SubjectHealthChecked,
	SubjectHealthChanged, SubjectDiscoveryCompleted, SubjectNotificationSent, SubjectNotificationFailed,
	SubjectMetricsQueryDone, SubjectAnalysisMeasured, SubjectAnalysisCompleted,
	SubjectRunStarted, SubjectRunChanged, SubjectRunCompleted,
}

// Subject builds <prefix>.<tenantId>.<integrationId>.
func Subject(prefix, tenantID, integrationID string) string {
	return prefix + "." + tenantID + "." + integrationID
}

// PrefixOf returns the known prefix of a full subject, or "" if none fits.
// Every published message asks it (its CloudEvents type), so it allocates
// nothing: the prefixes are kept longest first, and the first one that fits
// is the longest.
func PrefixOf(subject string) string {
	for _, p := range prefixesLongestFirst {
		if len(subject) > len(p) && subject[len(p)] == '.' && strings.HasPrefix(subject, p) {
			return p
		}
	}
	return ""
}

// prefixesLongestFirst are CommandSubjects and EventSubjects, longest first.
var prefixesLongestFirst = func() []string {
	all := append(append([]string{}, CommandSubjects...), EventSubjects...)
	sort.SliceStable(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
	return all
}()

// EventType is the CloudEvents type of a subject prefix: "inthub." + prefix.
func EventType(prefix string) string { return "inthub." + prefix }
