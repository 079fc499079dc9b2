package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
)

// maxCatalog bounds how many integrations one catalog page gathers (the
// API pages by 500).
const maxCatalog = 5000

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, nil, http.StatusOK, "login", "Sign in", "", map[string]any{})
}

// login checks the token through the API's whoami and keeps it in the
// session cookie. A login form posted from another site is refused, so a
// browser cannot be signed in to someone else's session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.status(w, r, nil, http.StatusForbidden, "Refused", "This sign-in did not come from the console's page.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		c.render(w, r, nil, http.StatusBadRequest, "login", "Sign in", "", map[string]any{"Error": "Enter your API token."})
		return
	}
	var id contracts.Identity
	api := apiClient{h: c.cfg.API, token: token, ctx: r.Context()}
	if _, err := api.do(http.MethodGet, "/api/v1/whoami", nil, nil, &id); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			c.render(w, r, nil, http.StatusUnauthorized, "login", "Sign in", "", map[string]any{"Error": "That token is not valid."})
			return
		}
		c.fail(w, r, nil, err)
		return
	}
	setCookie(w, r, token)
	http.Redirect(w, r, Prefix+"/integrations", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, _ *session) {
	clearCookie(w, r)
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

// providers lists the provider specs, test-only ones included (the
// console marks them).
func (s *session) providers() ([]contracts.ProviderInfo, error) {
	var out contracts.ProviderList
	_, err := s.api.do(http.MethodGet, "/api/v1/integrations/providers", url.Values{"includeTestOnly": {"true"}}, nil, &out)
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return out.Items, err
}

func providerByID(ps []contracts.ProviderInfo, id string) (contracts.ProviderInfo, bool) {
	for _, p := range ps {
		if p.ID == id || slices.Contains(p.Aliases, id) {
			return p, true
		}
	}
	return contracts.ProviderInfo{}, false
}

// integrationAndProvider reads integration id through the API, with the
// provider it is of (zero if the provider list no longer holds its type).
func (s *session) integrationAndProvider(id string) (contracts.Integration, contracts.ProviderInfo, error) {
	var it contracts.Integration
	if _, err := s.api.do(http.MethodGet, "/api/v1/integrations/"+url.PathEscape(id), nil, nil, &it); err != nil {
		return it, contracts.ProviderInfo{}, err
	}
	providers, err := s.providers()
	if err != nil {
		return it, contracts.ProviderInfo{}, err
	}
	p, _ := providerByID(providers, it.TypeID)
	return it, p, nil
}

type catalogRow struct {
	contracts.Integration
	Category string
}

type catalogFilter struct {
	TypeID, Category, Label, Health, Q string
}

func (c *Console) catalog(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := catalogFilter{TypeID: q.Get("typeId"), Category: q.Get("category"), Label: q.Get("label"), Health: q.Get("health"), Q: strings.TrimSpace(q.Get("q"))}
	providers, err := s.providers()
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	data := map[string]any{"Filter": f, "Providers": providers, "Healths": []string{"healthy", "degraded", "unhealthy", "unknown"}}
	cats := map[string]bool{}
	for _, p := range providers {
		cats[p.Category] = true
	}
	categories := make([]string, 0, len(cats))
	for k := range cats {
		categories = append(categories, k)
	}
	sort.Strings(categories)
	data["Categories"] = categories
	api := url.Values{"limit": {"500"}}
	for k, v := range map[string]string{"typeId": f.TypeID, "category": f.Category, "labelSelector": f.Label, "healthStatus": f.Health} {
		if v != "" {
			api.Set(k, v)
		}
	}
	var rows []catalogRow
	truncated := false
	needle := strings.ToLower(f.Q)
	for {
		var list contracts.IntegrationList
		if _, err := s.api.do(http.MethodGet, "/api/v1/integrations", api, nil, &list); err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
				// A bad filter (label selector, health) is the form's error.
				data["Error"] = ae.Body.Message
				break
			}
			c.fail(w, r, s, err)
			return
		}
		for _, it := range list.Items {
			if needle != "" && !strings.Contains(strings.ToLower(it.Name+" "+it.Description+" "+it.ID+" "+it.TypeID), needle) {
				continue
			}
			p, _ := providerByID(providers, it.TypeID)
			rows = append(rows, catalogRow{Integration: it, Category: p.Category})
		}
		if list.NextCursor == "" {
			break
		}
		if len(rows) >= maxCatalog {
			truncated = true
			break
		}
		api.Set("cursor", list.NextCursor)
	}
	data["Items"], data["Truncated"], data["Max"] = rows, truncated, maxCatalog
	c.render(w, r, s, http.StatusOK, "catalog", "Integrations", "catalog", data)
}

// formField is one input of an integration form, generated from a
// provider's config field.
type formField struct {
	Name, Label, Type, Input, Value, Description, Error, Default string
	Checked, Required, Secret                                    bool
	Options                                                      []string
}

type integrationForm struct {
	Edit                                       bool
	ID                                         string
	Revision                                   uint64
	Provider                                   contracts.ProviderInfo
	Providers                                  []contracts.ProviderInfo
	Name, Description, Labels, CredentialRef   string
	NameErr, DescErr, LabelsErr, CredentialErr string
	Fields                                     []formField
	Error                                      string
}

// fieldsOf builds the inputs of p's config fields with values (current
// config) or its spec's defaults. A secret field shows only a credential
// reference: anything else in it is dropped, never rendered.
func fieldsOf(p contracts.ProviderInfo, values map[string]any) []formField {
	out := make([]formField, 0, len(p.ConfigFields))
	for _, f := range p.ConfigFields {
		ff := formField{Name: f.Name, Label: f.Name, Type: f.Type, Description: f.Description, Required: f.Required, Secret: f.Secret, Options: f.Enum}
		if f.Default != nil {
			ff.Default = valueText(f.Default)
		}
		v, set := values[f.Name]
		switch f.Type {
		case "boolean":
			ff.Input = "checkbox"
			if set {
				ff.Checked, _ = v.(bool)
			} else {
				ff.Checked, _ = f.Default.(bool)
			}
		case "integer":
			ff.Input = "number"
		case "enum":
			ff.Input = "select"
		case "stringList":
			ff.Input = "textarea"
		case "url":
			ff.Input = "url"
		default:
			ff.Input = "text"
		}
		if len(f.Enum) > 0 {
			ff.Input = "select"
		}
		if f.Type != "boolean" {
			// A default stays the provider's: shown as the placeholder, not
			// filled in, so an unchanged field is not saved with it.
			if set {
				ff.Value = valueText(v)
			}
		}
		if f.Secret && !credentials.IsRef(ff.Value) {
			ff.Value = ""
		}
		out = append(out, ff)
	}
	return out
}

func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = valueText(e)
		}
		return strings.Join(parts, "\n")
	case []string:
		return strings.Join(x, "\n")
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func (c *Console) newForm(w http.ResponseWriter, r *http.Request, s *session) {
	providers, err := s.providers()
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	form := integrationForm{Providers: providers}
	if p, ok := providerByID(providers, r.URL.Query().Get("typeId")); ok {
		form.Provider, form.Fields = p, fieldsOf(p, nil)
	}
	c.render(w, r, s, http.StatusOK, "form", "New integration", "catalog", form)
}

func (c *Console) editForm(w http.ResponseWriter, r *http.Request, s *session) {
	it, p, err := s.integrationAndProvider(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	form := integrationForm{Edit: true, ID: it.ID, Revision: it.Revision, Provider: p, Name: it.Name, Description: it.Description,
		Labels: labelText(it.Labels), CredentialRef: it.CredentialRef, Fields: fieldsOf(p, it.Config)}
	if !credentials.IsRef(form.CredentialRef) {
		form.CredentialRef = ""
	}
	c.render(w, r, s, http.StatusOK, "form", "Edit "+it.Name, "catalog", form)
}

func labelText(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + m[k] + "\n")
	}
	return b.String()
}

// readForm turns a posted form into an API input and the form to show
// again if the API refuses it.
//
// A checkbox left at its spec's default is not sent unless stored (the
// integration's config before an edit; nil on create) holds it, so an
// integration that follows a default keeps following it: an edit of
// another field neither pins the default nor records it as a change.
func readForm(r *http.Request, p contracts.ProviderInfo, stored map[string]any) (contracts.IntegrationInput, integrationForm) {
	last := func(name string) string {
		v := r.PostForm[name]
		if len(v) == 0 {
			return ""
		}
		return v[len(v)-1]
	}
	in := contracts.IntegrationInput{TypeID: p.ID, Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		CredentialRef: strings.TrimSpace(r.PostFormValue("credentialRef")), Config: map[string]any{}}
	form := integrationForm{Provider: p, Name: in.Name, Description: in.Description, Labels: r.PostFormValue("labels"), CredentialRef: in.CredentialRef}
	values := map[string]any{}
	for _, f := range p.ConfigFields {
		raw := strings.TrimSpace(last("cfg." + f.Name))
		if raw == "" {
			continue
		}
		switch f.Type {
		case "boolean":
			b := raw == "true"
			if def, _ := f.Default.(bool); b == def {
				if _, set := stored[f.Name]; !set {
					continue
				}
			}
			in.Config[f.Name] = b
		case "integer":
			if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
				in.Config[f.Name] = n
			} else {
				in.Config[f.Name] = raw // the API says what is wrong with it
			}
		case "stringList":
			var list []string
			for _, l := range strings.Split(raw, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					list = append(list, l)
				}
			}
			in.Config[f.Name] = list
		default:
			in.Config[f.Name] = raw
		}
		values[f.Name] = in.Config[f.Name]
	}
	form.Fields = fieldsOf(p, values)
	if !credentials.IsRef(form.CredentialRef) {
		form.CredentialRef = ""
	}
	for i, line := range strings.Split(form.Labels, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			form.LabelsErr = "line " + strconv.Itoa(i+1) + ": write each label as key=value"
			continue
		}
		if in.Labels == nil {
			in.Labels = map[string]string{}
		}
		in.Labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return in, form
}

// place puts an API refusal next to the field it names.
func (f *integrationForm) place(ae *apiError) {
	f.Error = ae.Body.Message
	switch field := ae.Field(); field {
	case "name":
		f.NameErr = ae.Body.Message
	case "description":
		f.DescErr = ae.Body.Message
	case "labels":
		f.LabelsErr = ae.Body.Message
	case "credentialRef":
		f.CredentialErr = ae.Body.Message
	default:
		for i := range f.Fields {
			if f.Fields[i].Name == strings.TrimPrefix(field, "config.") {
				f.Fields[i].Error = ae.Body.Message
			}
		}
	}
}

func (c *Console) create(w http.ResponseWriter, r *http.Request, s *session) {
	providers, err := s.providers()
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	p, ok := providerByID(providers, r.PostFormValue("typeId"))
	if !ok {
		c.status(w, r, s, http.StatusBadRequest, "Unknown provider", "Choose a provider from the list.")
		return
	}
	in, form := readForm(r, p, nil)
	form.Providers = providers
	if form.LabelsErr != "" {
		form.Error = form.LabelsErr
		c.render(w, r, s, http.StatusBadRequest, "form", "New integration", "catalog", form)
		return
	}
	var it contracts.Integration
	if _, err := s.api.do(http.MethodPost, "/api/v1/integrations", nil, in, &it); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status < 500 {
			form.place(ae)
			c.render(w, r, s, ae.Status, "form", "New integration", "catalog", form)
			return
		}
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"/integrations/"+url.PathEscape(it.ID), http.StatusSeeOther)
}

func (c *Console) edit(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	cur, p, err := s.integrationAndProvider(id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	in, form := readForm(r, p, cur.Config)
	form.Edit, form.ID = true, id
	form.Revision, _ = strconv.ParseUint(r.PostFormValue("revision"), 10, 64)
	if form.LabelsErr != "" {
		form.Error = form.LabelsErr
		c.render(w, r, s, http.StatusBadRequest, "form", "Edit "+cur.Name, "catalog", form)
		return
	}
	if _, err := s.api.do(http.MethodPut, "/api/v1/integrations/"+url.PathEscape(id), nil, in, nil, "If-Match", `"`+strconv.FormatUint(form.Revision, 10)+`"`); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status < 500 {
			form.place(ae)
			c.render(w, r, s, ae.Status, "form", "Edit "+cur.Name, "catalog", form)
			return
		}
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"/integrations/"+url.PathEscape(id), http.StatusSeeOther)
}

type configRow struct{ Name, Value string }

func (c *Console) integration(w http.ResponseWriter, r *http.Request, s *session) {
	it, p, err := s.integrationAndProvider(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	data := map[string]any{"It": it, "Provider": p, "Config": configRows(p, it.Config),
		"Pipelines": hasCapability(p, string(connectors.CapTrigger))}
	if recs, more, err := s.history(contracts.AuditIntegration, it.ID); err != nil {
		c.cfg.Logger.WarnContext(r.Context(), "console: change history", "error", err.Error())
		data["HistoryErr"] = "The change history cannot be read right now."
	} else {
		data["History"], data["HistoryMore"] = historyOf(p, recs), more
	}
	if c.cfg.HealthEvents != nil {
		events, err := c.cfg.HealthEvents(r.Context(), s.id.TenantID, it.ID, 50)
		if err != nil {
			c.cfg.Logger.WarnContext(r.Context(), "console: health events", "error", err.Error())
			data["TimelineErr"] = "The health history cannot be read right now."
		}
		data["Timeline"] = events
	}
	c.render(w, r, s, http.StatusOK, "integration", it.Name, "catalog", data)
}

// configRows shows an integration's config; a secret field shows only a
// credential reference, and a key the spec does not declare is hidden.
func configRows(p contracts.ProviderInfo, cfg map[string]any) []configRow {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([]configRow, 0, len(keys))
	for _, k := range keys {
		i := slices.IndexFunc(p.ConfigFields, func(f contracts.ConfigField) bool { return f.Name == k })
		v := valueText(cfg[k])
		if i < 0 || (p.ConfigFields[i].Secret && !credentials.IsRef(v)) {
			v = "(hidden)"
		}
		rows = append(rows, configRow{k, v})
	}
	return rows
}

// testLevel is one level of a test as the "Test now" script shows it.
type testLevel struct {
	Level     string `json:"level"`
	Status    string `json:"status"`
	LatencyMs int64  `json:"latencyMs"`
	ErrorCode string `json:"errorCode,omitempty"`
	Message   string `json:"message,omitempty"`
}

// test runs the API's on-demand test and answers the levels in the order
// they ran, as JSON for the page's script.
func (c *Console) test(w http.ResponseWriter, r *http.Request, s *session) {
	var res contracts.TestResponse
	_, err := s.api.do(http.MethodPost, "/api/v1/integrations/"+url.PathEscape(r.PathValue("id"))+"/test", nil, nil, &res)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{Status: http.StatusInternalServerError, Body: contracts.ErrorBody{Code: "INTERNAL", Message: "internal error"}}
		}
		w.WriteHeader(ae.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": ae.Body})
		return
	}
	steps := []struct {
		l contracts.CheckType
		s contracts.TestStep
	}{
		{contracts.CheckConnectivity, res.Data.ConnectivityTest},
		{contracts.CheckAuthentication, res.Data.AuthenticationTest},
		{contracts.CheckFunctionality, res.Data.FunctionalityTest},
	}
	levels := make([]testLevel, len(steps))
	for i, st := range steps {
		levels[i] = testLevel{Level: string(st.l), Status: st.s.Status, LatencyMs: st.s.LatencyMs, ErrorCode: st.s.ErrorCode, Message: st.s.Message}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"success": res.Success, "levels": levels})
}

// discovery browses an integration's resources: GET pages through them,
// POST (a form with the CSRF token) refreshes the cache first.
func (c *Console) discovery(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	it, p, err := s.integrationAndProvider(id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		form = r.PostForm
	}
	limit, _ := strconv.Atoi(form.Get("limit"))
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	req := contracts.DiscoveryRequest{ResourceType: form.Get("resourceType"), Limit: limit, Cursor: form.Get("cursor"), Refresh: r.Method == http.MethodPost,
		Filter: contracts.DiscoveryFilter{NamePattern: strings.TrimSpace(form.Get("namePattern")), Repository: strings.TrimSpace(form.Get("repository"))}}
	if req.ResourceType == "" && len(p.SupportedResourceTypes) > 0 {
		req.ResourceType = p.SupportedResourceTypes[0]
	}
	data := map[string]any{"It": it, "Provider": p, "Req": req}
	if !p.SupportsDiscovery {
		data["Error"] = "This provider does not support discovery."
	} else {
		var res contracts.DiscoveryResult
		if _, err := s.api.do(http.MethodPost, "/api/v1/integrations/"+url.PathEscape(id)+"/discover", nil, req, &res); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				c.fail(w, r, s, err)
				return
			}
			data["Error"] = ae.Body.Code + ": " + ae.Body.Message
		} else {
			data["Res"] = res
			if res.NextCursor != "" {
				next := url.Values{"resourceType": {req.ResourceType}, "namePattern": {req.Filter.NamePattern}, "repository": {req.Filter.Repository},
					"limit": {strconv.Itoa(limit)}, "cursor": {res.NextCursor}}
				data["Next"] = Prefix + "/integrations/" + url.PathEscape(id) + "/discovery?" + next.Encode()
			}
		}
	}
	c.render(w, r, s, http.StatusOK, "discovery", "Discovery: "+it.Name, "catalog", data)
}
