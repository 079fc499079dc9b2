package discoveryworker

import (
	"errors"
	"math"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/discovery"
	"github.com/stella-ops/inthub/shared/resilience"
)

// requestError refuses the request itself (a resource type the provider
// does not discover, a bad cursor or limit), in the API's vocabulary.
type requestError = discovery.RequestError

// refuse returns a requestError.
var refuse = discovery.Refuse

// unsupported is the answer for a resource type a provider does not
// discover, listing those it does (none for a provider without discovery).
func unsupported(spec *connectors.Spec, resourceType string) *requestError {
	supported := append([]string{}, spec.ResourceTypes...)
	details := map[string]any{"resourceType": resourceType, "supportedResourceTypes": supported}
	if !spec.SupportsDiscovery() {
		return refuse(apierr.UnsupportedResourceType, details, "%s does not support discovery", spec.ID)
	}
	return refuse(apierr.UnsupportedResourceType, details, "%s cannot discover %q (it discovers %v)", spec.ID, resourceType, supported)
}

// errorBody renders a failed discovery for integration.discovery.completed:
// a request error as it is, a connector error with its resilience code (and
// retryAfterSeconds for RATE_LIMITED), so the ingress maps it to a status.
func errorBody(err error) *contracts.ErrorBody {
	var re *requestError
	if errors.As(err, &re) {
		return &contracts.ErrorBody{Code: re.Code, Message: re.Message, Details: re.Details}
	}
	body := &contracts.ErrorBody{Code: string(resilience.CodeOf(err)), Message: err.Error()}
	if wait := resilience.RetryAfterOf(err); wait > 0 {
		body.Details = map[string]any{"retryAfterSeconds": int(math.Ceil(wait.Seconds()))}
	}
	return body
}

// errorCode is the metric label of an outcome.
func errorCode(err error) string {
	if err == nil {
		return "ok"
	}
	return errorBody(err).Code
}
