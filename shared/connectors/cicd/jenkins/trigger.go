package jenkins

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// crumb is a CSRF crumb and the web session it belongs to.
type crumb struct {
	field, value string
	cookies      []*http.Cookie
}

// fetchCrumb asks the crumb issuer for a crumb; Jenkins without CSRF
// protection answers 404: no crumb needed.
func (c *Connector) fetchCrumb(ctx context.Context, cred credential) (crumb, error) {
	resp, err := c.send(ctx, cred, request{method: http.MethodGet, path: "/crumbIssuer/api/json"})
	if err != nil {
		return crumb{}, fmt.Errorf("fetch a CSRF crumb: %w", err)
	}
	defer kit.Drain(resp)
	if resp.StatusCode == http.StatusNotFound {
		return crumb{}, nil
	}
	if err := c.check(resp, cred); err != nil {
		return crumb{}, fmt.Errorf("fetch a CSRF crumb: %w", err)
	}
	var answer struct {
		Crumb             string `json:"crumb"`
		CrumbRequestField string `json:"crumbRequestField"`
	}
	if err := kit.DecodeJSON(resp.Body, maxBody, &answer); err != nil || answer.Crumb == "" || answer.CrumbRequestField == "" {
		return crumb{}, resilience.New(resilience.UpstreamError, "fetch a CSRF crumb: the crumb issuer answered without a crumb")
	}
	return crumb{field: answer.CrumbRequestField, value: answer.Crumb, cookies: resp.Cookies()}, nil
}

// jobInfo is what Trigger needs to know of a job.
type jobInfo struct {
	Class     string `json:"_class"`
	Buildable bool   `json:"buildable"`
	Property  []struct {
		ParameterDefinitions []struct {
			Name string `json:"name"`
		} `json:"parameterDefinitions"`
	} `json:"property"`
}

func (j jobInfo) parameterized() bool {
	for _, p := range j.Property {
		if len(p.ParameterDefinitions) > 0 {
			return true
		}
	}
	return false
}

// Trigger queues a build of the job pipeline (its full name, team/app).
// A ref goes to the refParameter build parameter when one is configured,
// else it names the branch job of a multibranch Pipeline (pipeline/ref).
// params become build parameters (buildWithParameters); a parameterized job
// without params builds with its defaults. It returns the queue item,
// "queue:<id>".
func (c *Connector) Trigger(ctx context.Context, pipeline, ref string, params map[string]string) (connectors.RunRef, error) {
	if !validFullName(pipeline) {
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "the pipeline to trigger must be a Jenkins job's full name (team/app)")
	}
	params = maps.Clone(params)
	switch {
	case ref != "" && c.refParameter != "":
		if params == nil {
			params = map[string]string{}
		}
		params[c.refParameter] = ref
	case ref != "":
		// Branch jobs are named by the branch, '/' and '%' encoded.
		pipeline += "/" + strings.NewReplacer("%", "%25", "/", "%2F").Replace(ref)
	}
	cred, err := c.credential(ctx)
	if err != nil {
		return connectors.RunRef{}, err
	}
	var job jobInfo
	what := "read job " + pipeline
	if err := c.get(ctx, cred, what, jobPath(pipeline)+"/api/json",
		url.Values{"tree": {"_class,buildable,property[parameterDefinitions[name]]"}}, &job); err != nil {
		return connectors.RunRef{}, err
	}
	switch {
	case job.Class == classWorkflowMultiBranch:
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "%s is a multibranch Pipeline: give the branch as the ref", pipeline)
	case !job.Buildable:
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "%s cannot be built (a folder, or disabled)", pipeline)
	case len(params) > 0 && !job.parameterized():
		return connectors.RunRef{}, resilience.New(resilience.InvalidConfig, "%s takes no build parameters", pipeline)
	}
	action, form := "/build", url.Values{}
	if job.parameterized() {
		action = "/buildWithParameters"
		for k, v := range params {
			form.Set(k, v)
		}
	}
	header, err := c.post(ctx, cred, "trigger "+pipeline, request{path: jobPath(pipeline) + action, form: form}, true)
	if err != nil {
		return connectors.RunRef{}, err
	}
	id := queueItem(header.Get("Location"))
	if id == "" {
		return connectors.RunRef{}, resilience.New(resilience.UpstreamError, "trigger %s: Jenkins answered without the queue item's Location", pipeline)
	}
	return connectors.RunRef{ID: id, Pipeline: pipeline, Ref: ref}, nil
}

// queueItem reads the queue item id from Location (…/queue/item/42/).
func queueItem(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		return ""
	}
	dir, id := path.Split(strings.TrimSuffix(u.Path, "/"))
	if !strings.HasSuffix(dir, "/queue/item/") || id == "" {
		return ""
	}
	return "queue:" + id
}
