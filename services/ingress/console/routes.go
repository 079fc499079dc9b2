package console

import (
	"html/template"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", http.FileServerFS(static)))
	m.HandleFunc("GET "+Prefix+"/login", c.loginPage)
	m.HandleFunc("POST "+Prefix+"/login", c.login)
	m.Handle("POST "+Prefix+"/logout", c.authed(c.logout))
	m.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/integrations", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+Prefix+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/integrations", http.StatusSeeOther)
	})
	m.Handle("GET "+Prefix+"/integrations", c.authed(c.catalog))
	m.Handle("GET "+Prefix+"/integrations/new", c.authed(c.newForm))
	m.Handle("POST "+Prefix+"/integrations/new", c.authed(c.create))
	m.Handle("GET "+Prefix+"/integrations/{id}", c.authed(c.integration))
	m.Handle("GET "+Prefix+"/integrations/{id}/edit", c.authed(c.editForm))
	m.Handle("POST "+Prefix+"/integrations/{id}/edit", c.authed(c.edit))
	m.Handle("POST "+Prefix+"/integrations/{id}/test", c.authed(c.test))
	m.Handle("GET "+Prefix+"/integrations/{id}/discovery", c.authed(c.discovery))
	m.Handle("POST "+Prefix+"/integrations/{id}/discovery", c.authed(c.discovery))
	m.Handle("GET "+Prefix+"/integrations/{id}/runs", c.authed(c.pipelineRuns))
	m.Handle("GET "+Prefix+"/analysis-runs", c.authed(c.analysisRun))
	m.Handle("GET "+Prefix+"/rules", c.authed(c.rules))
	m.Handle("POST "+Prefix+"/rules", c.authed(c.createRule))
	m.Handle("POST "+Prefix+"/rules/preview", c.authed(c.previewRule))
	m.Handle("GET "+Prefix+"/rules/{id}/deliveries", c.authed(c.ruleDeliveries))
	m.Handle("GET "+Prefix+"/ops/events", c.operatorOnly(c.eventsPage))
	m.Handle("GET "+Prefix+"/ops/events/stream", c.operatorOnly(c.eventStream))
	m.Handle("POST "+Prefix+"/ops/events/replay", c.operatorOnly(c.replay))
	m.Handle("GET "+Prefix+"/ops/dlq", c.operatorOnly(c.deadLetters))
	m.Handle("GET "+Prefix+"/ops/dlq/purge", c.operatorOnly(c.purgeConfirm))
	m.Handle("POST "+Prefix+"/ops/dlq/purge", c.operatorOnly(c.purge))
	m.Handle("GET "+Prefix+"/ops/dlq/{seq}", c.operatorOnly(c.deadLetter))
	m.Handle("POST "+Prefix+"/ops/dlq/{seq}/redrive", c.operatorOnly(c.redrive))
	m.Handle("POST "+Prefix+"/ops/dlq/{seq}/delete", c.operatorOnly(c.deleteDeadLetter))
	m.Handle(Prefix+"/", c.authed(func(w http.ResponseWriter, r *http.Request, s *session) {
		c.status(w, r, s, http.StatusNotFound, "Not found", "There is no console page at this address.")
	}))
	c.mux = m
}

var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		case *time.Time:
			if v == nil || v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		}
		return "—"
	},
	"labels": func(m map[string]string) string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + m[k]
		}
		return strings.Join(parts, ", ")
	},
	"attrs": func(m map[string]any) string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + valueText(m[k])
		}
		return strings.Join(parts, ", ")
	},
	"join":   strings.Join,
	"levels": func() []contracts.CheckType { return contracts.CheckTypes },
	"check": func(m map[contracts.CheckType]contracts.HealthCheckResult, l contracts.CheckType) *contracts.HealthCheckResult {
		if r, ok := m[l]; ok {
			return &r
		}
		return nil
	},
}
