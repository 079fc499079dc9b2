// Package console is the hub's operator console: server-rendered HTML pages
// (html/template) and a little plain JavaScript, embedded in the binary and
// served by the ingress under /console. Every read and every action goes
// through the ingress's own API handlers, called in-process with the
// session's bearer token, so the console has exactly the API's rules:
// tenancy, roles, validation, and the same bus calls.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the console is served.
const Prefix = "/console"

// cookieName holds the session's bearer token (HttpOnly: no script reads it).
const cookieName = "inthub_console"

// roleOperator is the role that opens the operator pages (the API's).
const roleOperator = "operator"

// Config wires the console to the ingress.
type Config struct {
	// API is the ingress's /api/v1 route table, called in-process.
	API http.Handler
	// HealthEvents lists the latest integration.health.changed events of
	// one integration of one tenant, newest first. The tenant is the
	// session's (from whoami), never the caller's say.
	HealthEvents func(ctx context.Context, tenantID, integrationID string, limit int) ([]contracts.HealthChanged, error)
	Logger       *slog.Logger
}

// Console serves the pages.
type Console struct {
	cfg   Config
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New parses the templates and builds the routes.
func New(cfg Config) (*Console, error) {
	if cfg.API == nil {
		return nil, errors.New("console: no API handler")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Console{cfg: cfg, pages: map[string]*template.Template{}}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		c.pages[base] = t
	}
	c.routes()
	return c, nil
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Scripts and styles come from the console's own files only; no
	// framing; nothing cached (pages show tenant data).
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if !strings.HasPrefix(r.URL.Path, Prefix+"/static/") {
		h.Set("Cache-Control", "no-store")
	}
	c.mux.ServeHTTP(w, r)
}

// session is a signed-in browser: its token and who it stands for.
type session struct {
	token string
	id    contracts.Identity
	csrf  string
	api   apiClient
}

func (s *session) operator() bool { return slices.Contains(s.id.Roles, roleOperator) }

// csrfToken is derived from the session token: only a page that was served
// to the holder of the cookie knows it (the cookie is HttpOnly), and every
// ingress replica computes the same value without shared state.
func csrfToken(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("inthub-console-csrf-v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// handler is a page that needs a session.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// authed resolves the cookie to a session through the API's whoami, and
// checks the CSRF token of every state-changing request.
func (c *Console) authed(next handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(cookieName)
		if err != nil || ck.Value == "" {
			c.toLogin(w, r)
			return
		}
		s := &session{token: ck.Value, api: apiClient{h: c.cfg.API, token: ck.Value, ctx: r.Context()}}
		if _, err := s.api.do(http.MethodGet, "/api/v1/whoami", nil, nil, &s.id); err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
				clearCookie(w, r)
				c.toLogin(w, r)
				return
			}
			c.fail(w, r, nil, err)
			return
		}
		s.csrf = csrfToken(s.token)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameOrigin(r) {
				c.status(w, r, s, http.StatusForbidden, "Refused", "This request did not come from a console page.")
				return
			}
			sent := r.Header.Get("X-CSRF-Token")
			if sent == "" {
				sent = r.PostFormValue("csrf")
			}
			if !hmac.Equal([]byte(sent), []byte(s.csrf)) {
				c.status(w, r, s, http.StatusForbidden, "Refused", "The form's security token is missing or stale: reload the page and try again.")
				return
			}
		}
		next(w, r, s)
	})
}

// operatorOnly refuses a session without the operator role, before the
// page asks the API anything.
func (c *Console) operatorOnly(next handler) http.Handler {
	return c.authed(func(w http.ResponseWriter, r *http.Request, s *session) {
		if !s.operator() {
			c.status(w, r, s, http.StatusForbidden, "Operators only", "This page is for hub operators: your token does not have the operator role.")
			return
		}
		next(w, r, s)
	})
}

// sameOrigin refuses cross-site requests the browser labels as such
// (Sec-Fetch-Site), and an Origin of another host.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		rest, ok := strings.CutPrefix(o, "http://")
		if !ok {
			rest, ok = strings.CutPrefix(o, "https://")
		}
		if !ok || rest != r.Host {
			return false
		}
	}
	return true
}

func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.Header.Get("Accept") == "application/json" || r.Header.Get("Accept") == "text/event-stream" {
		http.Error(w, "sign in to the console first", http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

func setCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: secure(r), MaxAge: int((12 * time.Hour).Seconds()),
	})
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r), MaxAge: -1})
}

// secure is whether the cookie may only travel over TLS: when the console
// is served over TLS, or behind a proxy that terminated it.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	Session *sessionView
	CSRF    string
	Data    any
}

type sessionView struct {
	Name     string
	TenantID string
	Operator bool
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name, title, nav string, data any) {
	t, ok := c.pages[name]
	if !ok {
		c.cfg.Logger.ErrorContext(r.Context(), "console: no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p := page{Title: title, Nav: nav, Data: data}
	if s != nil {
		p.Session = &sessionView{Name: s.id.Name, TenantID: s.id.TenantID, Operator: s.operator()}
		p.CSRF = s.csrf
	}
	var buf strings.Builder
	if err := t.Execute(&buf, p); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "console: render", "page", name, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// status renders a message page (refusals, not found, errors).
func (c *Console) status(w http.ResponseWriter, r *http.Request, s *session, code int, title, message string) {
	c.render(w, r, s, code, "status", title, "", map[string]any{"Code": code, "Message": message})
}

// fail shows an API error as the API worded it (its messages never carry
// a secret), anything else as an internal error.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		c.status(w, r, s, ae.Status, http.StatusText(ae.Status), ae.Body.Code+": "+ae.Body.Message)
		return
	}
	c.cfg.Logger.ErrorContext(r.Context(), "console", "error", err.Error())
	c.status(w, r, s, http.StatusInternalServerError, "Internal error", "Something went wrong; the ingress log has the details.")
}
