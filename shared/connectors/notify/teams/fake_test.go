package teams

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// workflow is a fake Power Automate "When a Teams webhook request is
// received" trigger, written from Microsoft's documentation: it serves
// /workflows/<id>/triggers/manual/paths/invoke over TLS, checks the sig
// query parameter (401 DirectApiInvalidAuthorizationSignature), answers 404
// WorkflowNotFound for another workflow id, takes only
// {"type":"message","attachments":[<one Adaptive Card>]} (400
// InvalidRequestContent otherwise), and accepts with 202 and a run id.
type workflow struct {
	srv *httptest.Server
	id  string
	sig string

	mu     sync.Mutex
	forced []forcedAnswer
	calls  int
	cards  []map[string]any
	paths  []string
}

type forcedAnswer struct {
	status int
	header http.Header
}

func newWorkflow(t *testing.T) *workflow {
	t.Helper()
	w := &workflow{id: "8f1b2c3d4e5f40718293a4b5c6d7e8f9", sig: "Xr2Fq9sig0secret"}
	w.srv = httptest.NewTLSServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	return w
}

// url is the webhook URL the workflow's owner copies from Teams.
func (w *workflow) url(sig string) string {
	return fmt.Sprintf("%s/workflows/%s/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%%2Ftriggers%%2Fmanual%%2Frun&sv=1.0&sig=%s", w.srv.URL, w.id, sig)
}

// caPEM is the test server's certificate, trusted through caCert.
func (w *workflow) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.srv.Certificate().Raw}))
}

func (w *workflow) force(status int, header http.Header) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forced = append(w.forced, forcedAnswer{status, header})
}

func apiError(rw http.ResponseWriter, status int, code, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (w *workflow) serve(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paths = append(w.paths, r.Method+" "+r.URL.Path)
	if r.URL.Path == "/" {
		rw.WriteHeader(http.StatusNotFound)
		return
	}
	w.calls++
	if r.URL.Path != "/workflows/"+w.id+"/triggers/manual/paths/invoke" {
		apiError(rw, http.StatusNotFound, "WorkflowNotFound", "The workflow could not be found.")
		return
	}
	if r.URL.Query().Get("sig") != w.sig {
		apiError(rw, http.StatusUnauthorized, "DirectApiInvalidAuthorizationSignature", "The provided authentication token is not valid.")
		return
	}
	if r.Method != http.MethodPost {
		apiError(rw, http.StatusMethodNotAllowed, "DirectApiRequestHttpMethodNotAllowed", "The request method is not allowed.")
		return
	}
	if len(w.forced) > 0 {
		f := w.forced[0]
		w.forced = w.forced[1:]
		for k, v := range f.header {
			rw.Header()[k] = v
		}
		rw.WriteHeader(f.status)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		apiError(rw, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "The media type is not supported.")
		return
	}
	var env struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string         `json:"contentType"`
			Content     map[string]any `json:"content"`
		} `json:"attachments"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 28<<10+1))
	if len(raw) > 28<<10 {
		// Teams refuses messages over about 28 KB.
		apiError(rw, http.StatusRequestEntityTooLarge, "MessageSizeTooBig", "Message size is over the limit.")
		return
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Type != "message" || len(env.Attachments) != 1 ||
		env.Attachments[0].ContentType != ContentType || env.Attachments[0].Content["type"] != "AdaptiveCard" {
		apiError(rw, http.StatusBadRequest, "InvalidRequestContent", "The request content is not a message with one Adaptive Card.")
		return
	}
	body, ok := env.Attachments[0].Content["body"].([]any)
	if !ok || len(body) == 0 || env.Attachments[0].Content["version"] == nil {
		apiError(rw, http.StatusBadRequest, "InvalidRequestContent", "The Adaptive Card has no version or an empty body.")
		return
	}
	w.cards = append(w.cards, env.Attachments[0].Content)
	rw.Header().Set("x-ms-workflow-run-id", fmt.Sprintf("08584759%010d", len(w.cards)))
	rw.WriteHeader(http.StatusAccepted)
}

func (w *workflow) accepted() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]any(nil), w.cards...)
}

func (w *workflow) callCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls
}
