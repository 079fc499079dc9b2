package devstack_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/devstack"
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// The console's browser tests drive Debian's headless chromium (installed
// by scripts/test-deps.sh). -screenshots=DIR also writes a PNG of each page
// there (docs/console) and measures the catalog with 1,000 integrations.
var (
	screenshotDir   = flag.String("screenshots", "", "write the console's screenshots to this directory (docs/console)")
	consoleThousand = flag.Bool("console.thousand", false, "measure the console's catalog with 1,000 integrations (implied by -screenshots)")
)

const chromiumPath = "/usr/bin/chromium"

// browser starts one headless chromium for a test; each role gets its own
// browser context (own cookies) in it.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: scripts/test-deps.sh (make test-deps) installs Debian's chromium", chromiumPath)
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1366, 900), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// tab opens a tab in a fresh browser context, bounded by a timeout.
func tab(t *testing.T, b context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("browser at %s: %v", loc, err)
	}
}

// load runs trigger (a click, a submit) and waits for the page it loads, so
// the next step never reads the page being left.
func load(t *testing.T, ctx context.Context, trigger chromedp.Action[chromedp.Void]) {
	t.Helper()
	get(t, ctx, chromedp.WaitEvent(page.LoadEventFired, nil, trigger))
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("browser at %s: %v", loc, err)
	}
	return v
}

// shot writes a full-page screenshot when -screenshots is set.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshotDir == "" {
		return
	}
	png := get(t, ctx, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(*screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshotDir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(sel)))
	return strings.TrimSpace(get(t, ctx, chromedp.Text(chromedp.CSS(sel))))
}

func login(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.CSS("#token")))
	shot(t, ctx, "login")
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#token"), token))
	load(t, ctx, chromedp.Submit(chromedp.CSS("#token")))
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#integrations")))
}

// startConsoleStack is the hub of `make run` with the guard opened for the
// test's loopback registry and health checks every second or two, so a new
// integration gets its health while the test watches.
func startConsoleStack(t *testing.T, intervals healthscheduler.Intervals) *stack {
	t.Helper()
	local, secrets := localSecrets(t, nil)
	info := runStack(t, devstack.Config{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler),
		Policy: httpx.GuardPolicy{AllowPrivate: true}, Local: &local, Intervals: intervals,
		ExtraTokens: []ingress.TokenEntry{{Principal: ingress.Principal{Name: "b", TenantID: tenantB}, SHA256: ingress.HashToken(tokenB)}},
	})
	nc := natsConn(t, info)
	js, _ := jetstream.New(nc)
	return &stack{t: t, base: "http://" + info.HTTPAddr, info: info, js: js, secrets: secrets}
}

// TestConsoleInChromium walks the console as an operator and as a tenant in
// one headless chromium against the whole hub and a real Docker Registry.
func TestConsoleInChromium(t *testing.T) {
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{})
	repos := make([]string, 12)
	for i := range repos {
		repos[i] = fmt.Sprintf("team/app-%02d", i)
	}
	reg.PushAll(t, repos, "v1")
	s := startConsoleStack(t, healthscheduler.Intervals{Connectivity: time.Second, Authentication: 2 * time.Second, Functionality: 2 * time.Second})
	b := browser(t)
	op := tab(t, b)
	login(t, op, s.base, s.info.Token)

	// Create through the form: a literal secret and a bad URL are refused
	// inline, next to their fields, and the literal is not shown again.
	var id string
	t.Run("create through the form", func(t *testing.T) {
		run(t, op, chromedp.Navigate(s.base+"/console/integrations/new"), chromedp.WaitVisible(chromedp.CSS("#typeId")),
			chromedp.SetValue(chromedp.CSS("#typeId"), "docker-registry"))
		load(t, op, chromedp.Submit(chromedp.CSS("#typeId")))
		run(t, op, chromedp.WaitVisible(chromedp.CSS("#integration-form")))
		const literal = "plain-text-key-9f8e7d"
		run(t, op, chromedp.SendKeys(chromedp.CSS("#name"), "registry one"),
			chromedp.SetValue(chromedp.CSS("#cfg-url"), reg.URL),
			chromedp.SetValue(chromedp.CSS("#cfg-clientKeyRef"), literal))
		load(t, op, chromedp.Submit(chromedp.CSS("#integration-form")))
		if got := text(t, op, "#cfg-clientKeyRef-err"); !strings.Contains(got, "credential reference") {
			t.Fatalf("secret field error: %q", got)
		}
		html := get(t, op, chromedp.OuterHTML(chromedp.CSS("html")))
		invalid := get(t, op, chromedp.AttributeValue(chromedp.CSS("#cfg-clientKeyRef"), "aria-invalid")).Value
		if strings.Contains(html, literal) || invalid != "true" {
			t.Fatalf("refused secret: rendered again %v, aria-invalid %q", strings.Contains(html, literal), invalid)
		}
		run(t, op, chromedp.SetValue(chromedp.CSS("#cfg-url"), "not a url"))
		load(t, op, chromedp.Submit(chromedp.CSS("#integration-form")))
		if got := text(t, op, "#cfg-url-err"); !strings.Contains(got, `"url"`) {
			t.Fatalf("url error: %q", got)
		}
		if got := text(t, op, "#form-error"); !strings.Contains(got, "Not saved") {
			t.Fatalf("summary: %q", got)
		}
		shot(t, op, "form-error")
		run(t, op, chromedp.SetValue(chromedp.CSS("#cfg-url"), reg.URL), chromedp.SetValue(chromedp.CSS("#labels"), "env=dev\nteam=platform"))
		load(t, op, chromedp.Submit(chromedp.CSS("#integration-form")))
		run(t, op, chromedp.WaitVisible(chromedp.CSS("#test-now")))
		loc := get(t, op, chromedp.Location())
		id = loc[strings.LastIndex(loc, "/")+1:]
		if uuid.Validate(id) != nil {
			t.Fatalf("created at %s", loc)
		}
	})
	if id == "" {
		t.FailNow()
	}

	// Edit through the form, then read the change history on the page: the
	// creating token and the edited field, read from the audit records
	// (written asynchronously by the manager's outbox, so polled).
	t.Run("edit and change history", func(t *testing.T) {
		run(t, op, chromedp.Navigate(s.base+"/console/integrations/"+id+"/edit"), chromedp.WaitVisible(chromedp.CSS("#integration-form")),
			chromedp.SetValue(chromedp.CSS("#description"), "edited in the console"))
		load(t, op, chromedp.Submit(chromedp.CSS("#integration-form")))
		deadline := time.Now().Add(15 * time.Second)
		for {
			run(t, op, chromedp.Navigate(s.base+"/console/integrations/"+id), chromedp.WaitVisible(chromedp.CSS("#history")))
			rows := get(t, op, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#history tbody tr[data-action]')].map(tr => tr.dataset.action + "/" + tr.querySelector('.actor').textContent + "/" + [...tr.querySelectorAll('li')].map(li => li.dataset.field).join(","))`))
			if len(rows) == 2 {
				if !strings.HasPrefix(rows[0], "updated/dev/") || !strings.Contains(rows[0], "description") || !strings.HasPrefix(rows[1], "created/dev/") {
					t.Fatalf("history %v", rows)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("history %v", rows)
			}
			time.Sleep(300 * time.Millisecond)
		}
		if got := text(t, op, `#history li[data-field="description"] ins`); got != "edited in the console" {
			t.Fatalf("edited value %q", got)
		}
		html := get(t, op, chromedp.OuterHTML(chromedp.CSS("html")))
		if strings.Contains(html, "plain-text-key-9f8e7d") {
			t.Fatal("the refused secret literal is rendered")
		}
	})

	t.Run("catalog shows it with its health", func(t *testing.T) {
		row := `tr[data-id="` + id + `"] .badge`
		deadline := time.Now().Add(30 * time.Second)
		for {
			run(t, op, chromedp.Navigate(s.base+"/console/integrations?q=registry+one"), chromedp.WaitVisible(chromedp.CSS("#integrations")))
			if text(t, op, row) == "healthy" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("health badge still %q", text(t, op, row))
			}
			time.Sleep(500 * time.Millisecond)
		}
		shot(t, op, "catalog")
		// Filters: type and label match, another health does not.
		run(t, op, chromedp.Navigate(s.base+"/console/integrations?typeId=docker-registry&label=team%3Dplatform"), chromedp.WaitVisible(chromedp.CSS(row)))
		run(t, op, chromedp.Navigate(s.base+"/console/integrations?health=unhealthy"), chromedp.WaitVisible(chromedp.CSS("#integrations")))
		if got := text(t, op, "#count"); got != "0 integrations" {
			t.Fatalf("health=unhealthy: %q", got)
		}
	})

	t.Run("test now", func(t *testing.T) {
		run(t, op, chromedp.Navigate(s.base+"/console/integrations/"+id), chromedp.WaitVisible(chromedp.CSS("#test-now")),
			chromedp.Click(chromedp.CSS("#test-now")), chromedp.WaitVisible(chromedp.CSS("#test-summary[data-done]")))
		statuses := get(t, op, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#test-levels tbody tr')].map(tr => tr.dataset.level + "=" + tr.dataset.status)`))
		if want := []string{"connectivity=passed", "authentication=passed", "functionality=passed"}; !slices.Equal(statuses, want) {
			t.Fatalf("levels %v, want %v (%s)", statuses, want, text(t, op, "#test-summary"))
		}
		if got := text(t, op, "#breaker"); got != "closed" {
			t.Errorf("circuit breaker %q", got)
		}
		shot(t, op, "integration")
	})

	t.Run("discovery of a real registry", func(t *testing.T) {
		names := func() []string {
			run(t, op, chromedp.WaitVisible(chromedp.CSS("#resources")))
			return get(t, op, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#resources tbody td:first-child')].map(td => td.textContent)`))
		}
		run(t, op, chromedp.Navigate(s.base+"/console/integrations/"+id+"/discovery?resourceType=repositories&limit=10"))
		got := names()
		shot(t, op, "discovery")
		load(t, op, chromedp.Click(chromedp.CSS("#next-page")))
		if got = append(got, names()...); !slices.Equal(got, repos) {
			t.Fatalf("two pages: %v", got)
		}
		if c := text(t, op, "#cache"); !strings.HasPrefix(c, "From the cache") {
			t.Fatalf("second page: %q", c)
		}
		load(t, op, chromedp.Click(chromedp.CSS("#refresh")))
		if c := text(t, op, "#cache"); !strings.HasPrefix(c, "Fresh from the provider") {
			t.Fatalf("refresh: %q", c)
		}
	})

	t.Run("live events", func(t *testing.T) {
		run(t, op, chromedp.Navigate(s.base+"/console/ops/events?subject=integration.health.changed"), chromedp.WaitVisible(chromedp.CSS("#stream-state[data-open]")))
		other := uuid.NewString()
		s.publishChanged(other, 2)
		run(t, op, chromedp.WaitVisible(chromedp.CSS(`#events tbody tr:nth-child(2)`)))
		if got := text(t, op, "#events tbody tr:first-child td:nth-child(3)"); got != contracts.Subject(contracts.SubjectHealthChanged, devstack.DevTenantID, other) {
			t.Fatalf("streamed subject %q", got)
		}
		shot(t, op, "events")
		// Replay: the two events copied to a replay subject.
		run(t, op, chromedp.SetValue(chromedp.CSS("#rp-subject"), contracts.Subject(contracts.SubjectHealthChanged, devstack.DevTenantID, other)),
			chromedp.SetValue(chromedp.CSS("#rp-since"), "10m"), chromedp.SetValue(chromedp.CSS("#rp-target"), "inthub.replay.console"))
		load(t, op, chromedp.Submit(chromedp.CSS("#replay-form")))
		if got := text(t, op, "#replayed"); got != "2 events replayed to inthub.replay.console." {
			t.Fatalf("replay: %q", got)
		}
	})

	t.Run("redrive a dead letter", func(t *testing.T) {
		r := s.call("POST", "/api/v1/integrations", s.info.Token, map[string]any{"typeId": "inmemory", "name": "redrive target", "config": map[string]any{}})
		var it contracts.Integration
		r.decode(&it)
		seq := s.craftDeadLetter(it.ID, uuid.NewString())
		row := fmt.Sprintf(`tr[data-seq="%d"]`, seq)
		run(t, op, chromedp.Navigate(s.base+"/console/ops/dlq"), chromedp.WaitVisible(chromedp.CSS(row)))
		shot(t, op, "dlq")
		run(t, op, chromedp.Navigate(fmt.Sprintf("%s/console/ops/dlq/%d", s.base, seq)), chromedp.WaitVisible(chromedp.CSS("pre.body")))
		shot(t, op, "deadletter")
		run(t, op, chromedp.Navigate(s.base+"/console/ops/dlq"), chromedp.WaitVisible(chromedp.CSS(row)))
		load(t, op, chromedp.Click(chromedp.CSS(row+" button")))
		if got := text(t, op, "#flash"); !strings.Contains(got, fmt.Sprintf("Dead letter %d redriven", seq)) {
			t.Fatalf("flash %q", got)
		}
		gone := get(t, op, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector('%s') === null`, row)))
		if !gone {
			t.Fatal("the redriven dead letter is still listed")
		}
		run(t, op, chromedp.Navigate(s.base+"/console/ops/dlq/purge"), chromedp.WaitVisible(chromedp.CSS("#purge-count")))
		shot(t, op, "purge")
	})

	t.Run("notification rules", func(t *testing.T) {
		r := s.call("POST", "/api/v1/integrations", s.info.Token, webhook("alerts hook"))
		if r.status != http.StatusCreated {
			t.Fatalf("webhook: %d %s", r.status, r.body)
		}
		run(t, op, chromedp.Navigate(s.base+"/console/rules"), chromedp.WaitVisible(chromedp.CSS("#rule-form")),
			chromedp.SendKeys(chromedp.CSS("#r-name"), "registry alerts"), chromedp.SetValue(chromedp.CSS("#r-labels"), "team=platform"),
			chromedp.SetValue(chromedp.CSS("#r-title"), "{{.Integration.Name}}: {{.Event.Title"))
		load(t, op, chromedp.Submit(chromedp.CSS("#rule-form")))
		if got := text(t, op, "#rule-error"); !strings.Contains(got, "Not saved") {
			t.Fatalf("a template that does not parse: %q", got)
		}
		run(t, op, chromedp.SetValue(chromedp.CSS("#r-title"), "{{.Integration.Name}}: {{.Event.Title}}"))
		load(t, op, chromedp.Submit(chromedp.CSS("#rule-form")))
		if got := text(t, op, "#rules tbody tr:first-child td:first-child"); got != "registry alerts" {
			refusal := get(t, op, chromedp.Evaluate[string](`(document.getElementById('rule-error') || {}).textContent || ''`))
			t.Fatalf("rules list: %q (%s)", got, refusal)
		}
		shot(t, op, "rules")

		// Preview: the form's templates rendered on the sample events,
		// nothing saved; a broken template's refusal shown inline.
		run(t, op, chromedp.SendKeys(chromedp.CSS("#r-name"), "previewed"),
			chromedp.SetValue(chromedp.CSS("#r-title"), "[{{upper .Event.Severity}}] {{.Integration.Name}}"),
			chromedp.SetValue(chromedp.CSS("#r-text"), "{{.Event.Text}} <b>not markup</b>"))
		load(t, op, chromedp.Click(chromedp.CSS("#rule-preview")))
		titles := get(t, op, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#preview .p-title')].map(e => e.textContent)`))
		if want := []string{"[CRITICAL] Production Registry", "[INFO] Production Registry"}; !slices.Equal(titles, want) {
			t.Fatalf("preview titles %v, want %v", titles, want)
		}
		if got := text(t, op, "#preview .p-text"); !strings.HasSuffix(got, "<b>not markup</b>") {
			t.Fatalf("preview text %q", got)
		}
		if got := get(t, op, chromedp.Value(chromedp.CSS("#r-title"))); got != "[{{upper .Event.Severity}}] {{.Integration.Name}}" {
			t.Fatalf("the form lost its title: %q", got)
		}
		shot(t, op, "rule-preview")
		run(t, op, chromedp.SetValue(chromedp.CSS("#r-title"), "{{.Event.Title"))
		load(t, op, chromedp.Click(chromedp.CSS("#rule-preview")))
		if got := text(t, op, "#preview-error"); !strings.Contains(got, "template title") {
			t.Fatalf("preview of a broken template: %q", got)
		}
		if n := get(t, op, chromedp.Evaluate[int](`document.querySelectorAll('#rules tbody tr').length`)); n != 1 {
			t.Fatalf("a preview saved a rule: %d rules", n)
		}

		// The rule's delivery history: none yet (no event matched it since
		// it was saved); the notifier's unit test lists real ones.
		load(t, op, chromedp.Click(chromedp.CSS("#rules a.deliveries")))
		if got := text(t, op, "#delivery-count"); !strings.HasPrefix(got, "0 deliveries remembered") {
			t.Fatalf("deliveries page: %q", got)
		}
		if got := text(t, op, "h1"); got != "Deliveries: registry alerts" {
			t.Fatalf("deliveries heading %q", got)
		}
	})

	t.Run("tenant is refused operator pages", func(t *testing.T) {
		tb := tab(t, b)
		login(t, tb, s.base, tokenB)
		links := get(t, tb, chromedp.Evaluate[[]string](`[...document.querySelectorAll('header nav a')].map(a => a.textContent)`))
		if slices.Contains(links, "Dead letters") || slices.Contains(links, "Live events") {
			t.Fatalf("tenant navigation %v", links)
		}
		rows := get(t, tb, chromedp.Evaluate[int](`document.querySelectorAll('#integrations tr[data-id]').length`))
		if rows != 0 {
			t.Fatalf("tenant B sees %d integrations of the dev tenant", rows)
		}
		for _, page := range []string{"/console/ops/dlq", "/console/ops/events"} {
			run(t, tb, chromedp.Navigate(s.base+page))
			if got := text(t, tb, "#status-message"); !strings.Contains(got, "operator role") {
				t.Fatalf("%s as a tenant: %q", page, got)
			}
		}
		shot(t, tb, "tenant-refused")
		consoleAsTenantB(t, s, id)
		run(t, tb, chromedp.Navigate(s.base+"/console/integrations/"+id))
		if got := text(t, tb, "#status-message"); !strings.Contains(got, "NOT_FOUND") {
			t.Fatalf("another tenant's integration: %q", got)
		}
	})

	if *screenshotDir != "" || *consoleThousand {
		t.Run("catalog of 1000", func(t *testing.T) { measureThousand(t, b) })
	}
}

// measureThousand creates 1,000 integrations (default check intervals, so
// the checks do not crowd the machine) and times the catalog in the browser.
func measureThousand(t *testing.T, b context.Context) {
	s := startConsoleStack(t, healthscheduler.Intervals{})
	var wg sync.WaitGroup
	var failed atomic.Int32
	next := atomic.Int32{}
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > 1000 {
					return
				}
				r := s.call("POST", "/api/v1/integrations", s.info.Token, map[string]any{"typeId": "inmemory", "name": fmt.Sprintf("svc-%04d", i),
					"config": map[string]any{}, "labels": map[string]string{"team": fmt.Sprintf("t%d", i%7)}})
				if r.status != http.StatusCreated {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d creates failed", failed.Load())
	}
	ctx := tab(t, b)
	login(t, ctx, s.base, s.info.Token)
	// Five loads; the median of each figure (the machine is shared, single
	// loads vary).
	const loads = 5
	var server, received, loaded []float64
	for i := 0; i < loads; i++ {
		run(t, ctx, chromedp.Navigate(s.base+"/console/integrations"), chromedp.WaitVisible(chromedp.CSS("#integrations")))
		timing := get(t, ctx, chromedp.Poll[[]float64](`(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd > 0 ? [n.responseStart - n.requestStart, n.responseEnd - n.startTime, n.loadEventEnd - n.startTime] : null; })()`))
		server, received, loaded = append(server, timing[0]), append(received, timing[1]), append(loaded, timing[2])
	}
	median := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	best := [3]float64{median(server), median(received), median(loaded)}
	rows := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#integrations tr[data-id]').length`))
	if rows != 1000 {
		t.Fatalf("%d rows, want 1000", rows)
	}
	// The API's share: the two pages of 500 the console asks for, over HTTP.
	start := time.Now()
	var list contracts.IntegrationList
	s.call("GET", "/api/v1/integrations?limit=500", s.info.Token, nil).decode(&list)
	s.call("GET", "/api/v1/integrations?limit=500&cursor="+list.NextCursor, s.info.Token, nil)
	api := time.Since(start)
	t.Logf("catalog of 1,000 integrations in chromium (median of 5 loads): server answered in %.0f ms (the API's two list pages alone: %d ms), HTML received in %.0f ms, page loaded in %.0f ms",
		best[0], api.Milliseconds(), best[1], best[2])
}

// consoleAsTenantB tries every console route on the dev tenant's
// integration id with tenant B's session, over plain HTTP: each answers as
// for a missing integration (404), the operator pages 403.
func consoleAsTenantB(t *testing.T, s *stack, id string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path string, form url.Values, headers ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := send("POST", "/console/login", url.Values{"token": {tokenB}}); code != http.StatusSeeOther {
		t.Fatalf("login as B: %d", code)
	}
	_, home := send("GET", "/console/integrations", nil)
	m := regexp.MustCompile(`data-csrf="([0-9a-f]+)"`).FindStringSubmatch(home)
	if m == nil {
		t.Fatal("no CSRF token on B's page")
	}
	csrf := url.Values{"csrf": {m[1]}, "name": {"B was here"}, "typeId": {"docker-registry"}}
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/console/integrations/" + id, http.StatusNotFound},
		{"GET", "/console/integrations/" + id + "/edit", http.StatusNotFound},
		{"POST", "/console/integrations/" + id + "/edit", http.StatusNotFound},
		{"POST", "/console/integrations/" + id + "/test", http.StatusNotFound},
		{"GET", "/console/integrations/" + id + "/discovery", http.StatusNotFound},
		{"POST", "/console/integrations/" + id + "/discovery", http.StatusNotFound},
		{"GET", "/console/ops/dlq", http.StatusForbidden},
		{"GET", "/console/ops/dlq/1", http.StatusForbidden},
		{"POST", "/console/ops/dlq/1/redrive", http.StatusForbidden},
		{"POST", "/console/ops/dlq/1/delete", http.StatusForbidden},
		{"GET", "/console/ops/dlq/purge", http.StatusForbidden},
		{"POST", "/console/ops/dlq/purge", http.StatusForbidden},
		{"GET", "/console/ops/events", http.StatusForbidden},
		{"GET", "/console/ops/events/stream", http.StatusForbidden},
		{"POST", "/console/ops/events/replay", http.StatusForbidden},
		{"GET", "/console/rules/" + id + "/deliveries", http.StatusNotFound},
	} {
		if code, body := send(tc.method, tc.path, csrf); code != tc.want || strings.Contains(body, "registry one") {
			t.Errorf("B %s %s: %d, want %d", tc.method, tc.path, code, tc.want)
		}
	}
	// Without the CSRF token a POST is refused before anything else.
	if code, _ := send("POST", "/console/integrations/new", url.Values{"typeId": {"inmemory"}, "name": {"x"}}); code != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d", code)
	}
}
