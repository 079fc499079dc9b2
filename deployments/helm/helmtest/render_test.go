package helmtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// chartDir is the chart under test, from this package's folder.
const chartDir = "../inthub"

// releaseName and namespace of every rendering.
const (
	releaseName = "hub"
	namespace   = "inthub"
)

// components are the hub's services, one Deployment each.
var components = []string{"discovery-worker", "health-scheduler", "ingress", "manager", "metrics-analyzer", "notifier", "pipeline-runner"}

// object is one rendered Kubernetes object, decoded strictly into its Go type.
type object struct {
	source string // the template it came from
	kind   string
	name   string
	obj    runtime.Object
}

// decoder decodes YAML strictly into the Kubernetes API types and
// prometheus-operator's ServiceMonitor: a field the type does not have, a
// field given twice or a value of the wrong type is an error, and so is a
// kind neither knows.
func decoder(t testing.TB) runtime.Decoder {
	t.Helper()
	sch := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	if err := monitoringv1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, sch, sch,
		kjson.SerializerOptions{Yaml: true, Strict: true})
}

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return ch
}

// valuesFile reads one of the chart's values files.
func valuesFile(t testing.TB, name string) map[string]any {
	t.Helper()
	v, err := common.ReadValuesFile(filepath.Join(chartDir, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// renderManifests renders the chart with vals over its values.yaml, as
// `helm template hub deployments/helm/inthub -n inthub -f ...` does.
func renderManifests(t testing.TB, vals map[string]any) (map[string]string, error) {
	t.Helper()
	ch := loadChart(t)
	rv, err := chartutil.ToRenderValues(ch, vals, common.ReleaseOptions{
		Name: releaseName, Namespace: namespace, IsInstall: true, Revision: 1,
	}, common.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, rv)
}

// render renders and decodes every object, failing the test on any error.
func render(t testing.TB, vals map[string]any) []object {
	t.Helper()
	files, err := renderManifests(t, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	dec := decoder(t)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []object
	for _, name := range names {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" {
			continue
		}
		docs, err := splitYAML(files[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, doc := range docs {
			obj, gvk, err := dec.Decode(doc, nil, nil)
			if err != nil {
				t.Fatalf("%s, document %d does not decode strictly: %v\n%s", name, i+1, err, doc)
			}
			o := object{source: name, kind: gvk.Kind, obj: obj}
			if m, ok := obj.(interface{ GetName() string }); ok {
				o.name = m.GetName()
			}
			checkMeta(t, o)
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		t.Fatal("the chart rendered no object")
	}
	return out
}

// splitYAML splits a rendered template into its documents, leaving out
// those with nothing but comments.
func splitYAML(s string) ([][]byte, error) {
	r := kyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(s)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		empty := true
		for _, line := range bytes.Split(doc, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if len(line) > 0 && line[0] != '#' && string(line) != "---" {
				empty = false
				break
			}
		}
		if !empty {
			docs = append(docs, doc)
		}
	}
}

// checkMeta: what the API server checks of every object's metadata.
func checkMeta(t testing.TB, o object) {
	t.Helper()
	m, ok := o.obj.(interface {
		GetName() string
		GetNamespace() string
		GetLabels() map[string]string
	})
	if !ok {
		t.Fatalf("%s: %s has no metadata", o.source, o.kind)
	}
	for _, msg := range validation.IsDNS1123Subdomain(m.GetName()) {
		t.Errorf("%s %s: name: %s", o.kind, m.GetName(), msg)
	}
	if o.kind == "Service" {
		for _, msg := range validation.IsDNS1035Label(m.GetName()) {
			t.Errorf("Service %s: name: %s", m.GetName(), msg)
		}
	}
	for k, v := range m.GetLabels() {
		for _, msg := range validation.IsQualifiedName(k) {
			t.Errorf("%s %s: label %s: %s", o.kind, m.GetName(), k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			t.Errorf("%s %s: label %s=%q: %s", o.kind, m.GetName(), k, v, msg)
		}
	}
}

// byKind returns the rendered objects of one kind, by name.
func byKind[T runtime.Object](objs []object, kind string) map[string]T {
	out := map[string]T{}
	for _, o := range objs {
		if o.kind == kind {
			out[o.name] = o.obj.(T)
		}
	}
	return out
}

// merge returns base with the dotted keys of set replaced: what --set does.
func merge(base map[string]any, set map[string]any) map[string]any {
	out := deepCopy(base)
	for key, v := range set {
		parts := strings.Split(key, ".")
		m := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	return out
}

func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = deepCopy(sub)
		}
		out[k] = v
	}
	return out
}

// TestStrictDecoderRefusesWhatTheAPIServerWould: the decoder the other
// tests rely on is strict, so a misspelt or misplaced field in a template
// fails them rather than vanishing at `kubectl apply`.
func TestStrictDecoderRefusesWhatTheAPIServerWould(t *testing.T) {
	t.Parallel()
	dec := decoder(t)
	cases := []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n", "unknown field"},
		{"field of the container at the pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {image: a:1, containers: []}\n", "unknown field"},
		{"duplicate field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {A: \"1\"}\ndata: {B: \"2\"}\n", "already set"},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two}\n", "replicas"},
		{"unknown kind", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n", "no kind"},
		{"ServiceMonitor unknown field", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {endpoints: [{prot: metrics}], selector: {}}\n", "unknown field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := dec.Decode([]byte(tc.doc), nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decode: err %v, want one naming %q", err, tc.want)
			}
		})
	}
	// and a correct ServiceMonitor decodes
	if _, _, err := dec.Decode([]byte("apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {endpoints: [{port: metrics, interval: 30s}], selector: {}}\n"), nil, nil); err != nil {
		t.Errorf("a valid ServiceMonitor: %v", err)
	}
}

// TestChartRefusesBadValues: values that would deploy something broken or
// unsafe stop the rendering with a message naming the value.
func TestChartRefusesBadValues(t *testing.T) {
	t.Parallel()
	base := valuesFile(t, "values.yaml")
	cases := []struct {
		name string
		set  map[string]any
		want string
	}{
		{"latest image", map[string]any{"image.tag": "latest"}, "latest"},
		{"a token instead of its hash", map[string]any{"tokens.list": []any{map[string]any{"name": "ci", "tenantId": "0193a0b4-0000-7000-8000-00000000000a", "sha256": "my-secret-token"}}}, "sha256 must be the 64 hex digits"},
		{"unknown NATS auth", map[string]any{"nats.auth.type": "kerberos"}, "nats.auth.type"},
		{"NATS password missing", map[string]any{"nats.auth.type": "password"}, "nats.auth.users.discovery-worker.password"},
		{"sentinel without sentinels", map[string]any{"redis.mode": "sentinel", "redis.sentinel.master": "m"}, "redis.sentinel.addrs"},
		{"cluster without nodes", map[string]any{"redis.mode": "cluster"}, "redis.cluster.addrs"},
		{"standalone without URL", map[string]any{"redis.mode": "standalone"}, "redis.url"},
		{"unknown redis mode", map[string]any{"redis.mode": "memcached"}, "redis.mode"},
		{"OIDC without audience", map[string]any{"oidc.issuer": "https://login.example.com"}, "oidc.audience"},
		{"NATS TLS without its Secret", map[string]any{"nats.tls.enabled": true}, "nats.tls.existingSecret"},
		// values.schema.json: structure and types
		{"misspelt key", map[string]any{"components.manager.replica": 3}, "replica"},
		{"unknown service", map[string]any{"components.scheduler": map[string]any{"enabled": true}}, "scheduler"},
		{"R7 streams", map[string]any{"nats.streamReplicas": 7}, "streamReplicas"},
		{"replicas as text", map[string]any{"components.notifier.replicas": "two"}, "replicas"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderManifests(t, merge(base, tc.set))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("render: err %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// Example values used by several tests.
const exampleHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func describe(objs []object) string {
	var b strings.Builder
	for _, o := range objs {
		fmt.Fprintf(&b, "%s/%s ", o.kind, o.name)
	}
	return b.String()
}
