package helmtest

import (
	"fmt"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// rendered is one rendering, indexed by kind.
type rendered struct {
	objs        []object
	appVersion  string
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	pdbs        map[string]*policyv1.PodDisruptionBudget
	netpols     map[string]*networkingv1.NetworkPolicy
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
	monitors    map[string]*monitoringv1.ServiceMonitor
}

func renderIndexed(t *testing.T, vals map[string]any) rendered {
	t.Helper()
	objs := render(t, vals)
	return rendered{
		objs:        objs,
		appVersion:  loadChart(t).Metadata.AppVersion,
		deployments: byKind[*appsv1.Deployment](objs, "Deployment"),
		services:    byKind[*corev1.Service](objs, "Service"),
		configMaps:  byKind[*corev1.ConfigMap](objs, "ConfigMap"),
		secrets:     byKind[*corev1.Secret](objs, "Secret"),
		pdbs:        byKind[*policyv1.PodDisruptionBudget](objs, "PodDisruptionBudget"),
		netpols:     byKind[*networkingv1.NetworkPolicy](objs, "NetworkPolicy"),
		hpas:        byKind[*autoscalingv2.HorizontalPodAutoscaler](objs, "HorizontalPodAutoscaler"),
		monitors:    byKind[*monitoringv1.ServiceMonitor](objs, "ServiceMonitor"),
	}
}

// deployment returns the Deployment of component c.
func (r rendered) deployment(t *testing.T, c string) *appsv1.Deployment {
	t.Helper()
	d, ok := r.deployments[releaseName+"-inthub-"+c]
	if !ok {
		t.Fatalf("no Deployment for %s among %s", c, describe(r.objs))
	}
	return d
}

// env resolves a container's environment as the kubelet would: the
// ConfigMaps of envFrom, overridden by env; a value from a Secret reads
// "secret:<name>/<key>".
func (r rendered) env(t *testing.T, c corev1.Container) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			continue
		}
		cm, ok := r.configMaps[from.ConfigMapRef.Name]
		if !ok {
			t.Fatalf("%s: envFrom ConfigMap %s is not rendered", c.Name, from.ConfigMapRef.Name)
		}
		for k, v := range cm.Data {
			out[k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			out[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			out[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	return out
}

// selects reports whether sel selects pods labelled podLabels.
func selects(t *testing.T, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

// checkPolicy asserts the chart's rules on every rendering: every service
// is there with a disruption budget and a network policy; every container
// runs a released image (never latest) non-root on a read-only root with no
// capability, has requests and limits and both probes on a port it
// declares; every ConfigMap and Secret a pod names is rendered or is one of
// external (made by the operator).
func checkPolicy(t *testing.T, r rendered, external ...string) {
	t.Helper()
	if len(r.deployments) != len(components) {
		t.Errorf("%d Deployments, want %d (one per service): %s", len(r.deployments), len(components), describe(r.objs))
	}
	for _, c := range components {
		d := r.deployment(t, c)
		podLabels := d.Spec.Template.Labels
		if !selects(t, d.Spec.Selector, podLabels) {
			t.Errorf("%s: the Deployment's selector does not select its pods", c)
		}
		pod := d.Spec.Template.Spec
		t.Run(c, func(t *testing.T) {
			checkPod(t, r, c, pod, external)
		})
		found := false
		for _, pdb := range r.pdbs {
			if selects(t, pdb.Spec.Selector, podLabels) {
				found = true
				if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
					t.Errorf("%s: PodDisruptionBudget %s bounds nothing", c, pdb.Name)
				}
			}
		}
		if !found {
			t.Errorf("%s: no PodDisruptionBudget selects its pods", c)
		}
		found = false
		for _, np := range r.netpols {
			if selects(t, &np.Spec.PodSelector, podLabels) {
				found = true
				if !hasPolicyType(np, networkingv1.PolicyTypeIngress) || !hasPolicyType(np, networkingv1.PolicyTypeEgress) {
					t.Errorf("%s: NetworkPolicy %s does not govern both directions: %v", c, np.Name, np.Spec.PolicyTypes)
				}
			}
		}
		if !found {
			t.Errorf("%s: no NetworkPolicy selects its pods", c)
		}
		// a Service for its metrics listener
		found = false
		for _, svc := range r.services {
			if svc.Spec.Selector != nil && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(podLabels)) &&
				len(svc.Spec.Ports) > 0 && svc.Spec.Ports[0].Name == "metrics" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no metrics Service selects its pods", c)
		}
	}
	for name, hpa := range r.hpas {
		d, ok := r.deployments[hpa.Spec.ScaleTargetRef.Name]
		if !ok || hpa.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("HPA %s scales %v, which is not rendered", name, hpa.Spec.ScaleTargetRef)
			continue
		}
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas beside its HPA: every upgrade would reset the HPA's count", d.Name)
		}
	}
	for name, cm := range r.configMaps {
		for k := range cm.Data {
			for _, word := range []string{"PASSWORD", "TOKEN", "SECRET", "SEED"} {
				if strings.Contains(strings.ToUpper(k), word) && !strings.HasPrefix(k, "INTHUB_TOKENS_RELOAD") && !strings.HasPrefix(k, "INTHUB_LOCAL_SECRET") {
					t.Errorf("ConfigMap %s holds %s: secrets belong in Secrets", name, k)
				}
			}
		}
	}
}

func hasPolicyType(np *networkingv1.NetworkPolicy, want networkingv1.PolicyType) bool {
	for _, p := range np.Spec.PolicyTypes {
		if p == want {
			return true
		}
	}
	return false
}

func checkPod(t *testing.T, r rendered, c string, pod corev1.PodSpec, external []string) {
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("pod securityContext.runAsNonRoot is not true")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccompProfile is not RuntimeDefault")
	}
	if psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		t.Errorf("pod runs as uid 0")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("the pod mounts a service account token; no service calls the Kubernetes API")
	}
	if len(pod.Containers) != 1 || pod.Containers[0].Name != c {
		t.Fatalf("want one container named %s, have %d", c, len(pod.Containers))
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		switch {
		case v.Secret != nil:
			if !r.has("Secret", v.Secret.SecretName, external) {
				t.Errorf("volume %s: Secret %s is neither rendered nor expected from the operator (%v)", v.Name, v.Secret.SecretName, external)
			}
		case v.ConfigMap != nil:
			if !r.has("ConfigMap", v.ConfigMap.Name, external) {
				t.Errorf("volume %s: ConfigMap %s is neither rendered nor expected from the operator", v.Name, v.ConfigMap.Name)
			}
		}
	}
	for _, ctr := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		checkContainer(t, r, ctr, psc)
		for _, m := range ctr.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				t.Errorf("%s mounts volume %s, which the pod does not have", ctr.Name, m.Name)
			}
		}
		for _, e := range ctr.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				optional := ref.Optional != nil && *ref.Optional
				if s, ok := r.secrets[ref.Name]; ok {
					if _, has := s.StringData[ref.Key]; !has && !optional {
						t.Errorf("%s: %s reads key %s that Secret %s does not have", ctr.Name, e.Name, ref.Key, ref.Name)
					}
				} else if !r.has("Secret", ref.Name, external) {
					t.Errorf("%s: %s reads Secret %s, neither rendered nor expected from the operator", ctr.Name, e.Name, ref.Name)
				}
			}
		}
	}
}

// has reports whether an object of kind named name is rendered or external.
func (r rendered) has(kind, name string, external []string) bool {
	for _, o := range r.objs {
		if o.kind == kind && o.name == name {
			return true
		}
	}
	for _, e := range external {
		if e == name {
			return true
		}
	}
	return false
}

func checkContainer(t *testing.T, r rendered, ctr corev1.Container, psc *corev1.PodSecurityContext) {
	t.Helper()
	name := ctr.Name
	// a released image, never latest
	ref := ctr.Image
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	tag := ""
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		tag = ref[i+1:]
	}
	if tag == "" || tag == "latest" {
		t.Errorf("%s: image %q names no release", name, ctr.Image)
	} else if tag != r.appVersion {
		t.Errorf("%s: image %q, want the chart's appVersion %s", name, ctr.Image, r.appVersion)
	}
	if !strings.HasSuffix(ref, "/"+name+":"+tag) {
		t.Errorf("%s: image %q is not this service's image", name, ctr.Image)
	}
	// requests and limits
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := ctr.Resources.Requests[res]; !ok || q.IsZero() {
			t.Errorf("%s: no %s request", name, res)
		}
		if q, ok := ctr.Resources.Limits[res]; !ok || q.IsZero() {
			t.Errorf("%s: no %s limit", name, res)
		}
		if req, lim := ctr.Resources.Requests[res], ctr.Resources.Limits[res]; req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above its limit %s", name, res, req.String(), lim.String())
		}
	}
	// both probes, over HTTP, on a declared port
	ports := map[string]bool{}
	for _, p := range ctr.Ports {
		ports[p.Name] = true
	}
	for kind, p := range map[string]*corev1.Probe{"liveness": ctr.LivenessProbe, "readiness": ctr.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no %s probe over HTTP", name, kind)
			continue
		}
		if !ports[p.HTTPGet.Port.String()] {
			t.Errorf("%s: %s probe on port %s, which the container does not declare", name, kind, p.HTTPGet.Port.String())
		}
		want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[kind]
		if p.HTTPGet.Path != want {
			t.Errorf("%s: %s probe on %s, want %s", name, kind, p.HTTPGet.Path, want)
		}
	}
	// non-root, read-only, no capability, no escalation
	sc := ctr.SecurityContext
	if sc == nil {
		t.Fatalf("%s: no securityContext", name)
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: runAsNonRoot is not true", name)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: the root filesystem is writable", name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", name)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("%s: privileged", name)
	}
	if sc.Capabilities == nil || !containsCap(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities %v, want drop ALL and add none", name, sc.Capabilities)
	}
	if (sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) &&
		(psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
		t.Errorf("%s: seccomp is not RuntimeDefault", name)
	}
	if ctr.ImagePullPolicy == corev1.PullAlways {
		t.Logf("%s: imagePullPolicy Always", name)
	}
	env := r.env(t, ctr)
	if env["METRICS_ADDR"] == "" || !ports["metrics"] {
		t.Errorf("%s: METRICS_ADDR %q and a metrics port are both needed (its probes and /metrics)", name, env["METRICS_ADDR"])
	}
	if env["NATS_URL"] == "" {
		t.Errorf("%s: no NATS_URL", name)
	}
}

func containsCap(caps []corev1.Capability, want corev1.Capability) bool {
	for _, c := range caps {
		if c == want {
			return true
		}
	}
	return false
}

// fmtEnv is a short form of an env map for failure messages.
func fmtEnv(env map[string]string, prefix string) string {
	var b strings.Builder
	for k, v := range env {
		if strings.HasPrefix(k, prefix) {
			fmt.Fprintf(&b, "%s=%s ", k, v)
		}
	}
	return b.String()
}
