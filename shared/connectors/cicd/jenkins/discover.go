package jenkins

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// treeDepth is how many folder levels one request reads.
	treeDepth = 3
	// maxWalkRequests bounds one walk of the folder tree.
	maxWalkRequests = 500
)

// The item classes that matter.
const (
	classWorkflowJob         = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
	classWorkflowMultiBranch = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
)

// containerClasses are item groups whose children discovery reads.
var containerClasses = []string{
	"com.cloudbees.hudson.plugins.folder.Folder",
	"jenkins.branch.OrganizationFolder",
	classWorkflowMultiBranch,
}

// item is a job or folder of a tree answer.
type item struct {
	Class string `json:"_class"`
	Name  string `json:"name"`
	URL   string `json:"url"`
	Color string `json:"color"`
	// Jobs is present (possibly empty) for item groups whose children the
	// tree asked for, nil otherwise.
	Jobs []item `json:"jobs"`
}

// isContainer reports whether it holds items: it listed children, it is a
// known folder class, or, unknown, it has no build status (only jobs have a
// colour), which a request on it settles.
func (it item) isContainer() bool {
	return it.Jobs != nil || slices.Contains(containerClasses, it.Class) ||
		strings.HasSuffix(it.Class, "Folder") || strings.HasSuffix(it.Class, "MultiBranchProject") || it.Color == ""
}

// entry is an item of the walk with its full name.
type entry struct {
	fullName, folder string
	item
}

// treeSpec is the tree parameter reading depth levels of jobs.
func treeSpec(depth int) string {
	s := "jobs[name,url,color,_class"
	if depth > 1 {
		s += "," + treeSpec(depth-1)
	}
	return s + "]"
}

// walk reads every item under the configured folder, sorted by full name.
func (c *Connector) walk(ctx context.Context, cred credential) ([]entry, error) {
	var out []entry
	queue := []string{c.folder}
	for requests := 0; len(queue) > 0; requests++ {
		if requests == maxWalkRequests {
			return nil, resilience.New(resilience.UpstreamError,
				"the Jenkins folder tree needs more than %d requests to walk: set the integration's folder to a smaller subtree", maxWalkRequests)
		}
		folder := queue[0]
		queue = queue[1:]
		var answer struct {
			Jobs []item `json:"jobs"`
		}
		what := "list the jobs of " + folder
		if folder == "" {
			what = "list Jenkins jobs"
		}
		if err := c.get(ctx, cred, what, jobPath(folder)+"/api/json", url.Values{"tree": {treeSpec(treeDepth)}}, &answer); err != nil {
			return nil, err
		}
		var visit func(parent string, items []item, level int)
		visit = func(parent string, items []item, level int) {
			for _, it := range items {
				full := it.Name
				if parent != "" {
					full = parent + "/" + it.Name
				}
				out = append(out, entry{fullName: full, folder: parent, item: it})
				switch {
				case !it.isContainer():
				case level < treeDepth:
					visit(full, it.Jobs, level+1)
				default:
					queue = append(queue, full)
				}
			}
		}
		visit(folder, answer.Jobs, 1)
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.fullName, b.fullName) })
	return out, nil
}

// Discover implements connectors.Discoverer: jobs or pipelines, one page of
// a fresh walk from the cursor's offset.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	var keep func(entry) bool
	switch q.ResourceType {
	case ResourceJobs:
		keep = func(e entry) bool { return !e.isContainer() }
	case ResourcePipelines:
		keep = func(e entry) bool { return e.Class == classWorkflowJob || e.Class == classWorkflowMultiBranch }
	default:
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported,
			"resource type %q: provider %s discovers %s and %s", q.ResourceType, ProviderID, ResourceJobs, ResourcePipelines)
	}
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cur, err := kit.DecodeCursor(q.Cursor, func(c cursor) bool { return c.Offset > 0 })
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cred, err := c.credential(ctx)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	entries, err := c.walk(ctx, cred)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	var matched []entry
	for _, e := range entries {
		if keep(e) && pattern.MatchPath(e.fullName) {
			matched = append(matched, e)
		}
	}
	start, end, next := kit.Window(len(matched), cur.Offset, kit.PageSize(q.PageSize, defaultPageSize, maxPageSize))
	page := connectors.DiscoveryPage{Items: []contracts.Resource{}}
	for _, e := range matched[start:end] {
		page.Items = append(page.Items, contracts.Resource{Type: q.ResourceType, Name: e.fullName, ID: e.fullName, Attributes: map[string]any{
			"url": e.URL, "class": e.Class, "color": e.Color, "folder": e.folder,
		}})
	}
	if next > 0 {
		page.NextCursor = kit.EncodeCursor(cursor{Offset: next})
	}
	return page, nil
}

// cursor is the offset of the next page in the sorted, filtered walk.
type cursor struct {
	Offset int `json:"o"`
}
