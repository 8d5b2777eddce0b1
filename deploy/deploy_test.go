// Package deploy_test checks the kustomize manifests of the webhook: every
// document decodes strictly into its Kubernetes type, and the properties the
// installation depends on (fail closed, exempt namespaces, every kind the
// webhook reads, least privilege, hardening, digest pinning) hold.
package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	admregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/admission"
	"github.com/gatehouse-dev/gatehouse/gates"
)

// manifests is the decoded output of one kustomization.
type manifests struct {
	byKind map[string][][]byte // kind -> JSON documents
}

func (m manifests) one(t *testing.T, kind string, into any) {
	t.Helper()
	docs := m.byKind[kind]
	if len(docs) != 1 {
		t.Fatalf("%d %s documents, want 1", len(docs), kind)
	}
	if err := yaml.UnmarshalStrict(docs[0], into); err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
}

// typed are the kinds decoded strictly into their Go types; the others
// (CRDs) must at least carry apiVersion, kind and a name.
var typed = map[string]func() any{
	"Namespace":                      func() any { return &corev1.Namespace{} },
	"ServiceAccount":                 func() any { return &corev1.ServiceAccount{} },
	"ConfigMap":                      func() any { return &corev1.ConfigMap{} },
	"Service":                        func() any { return &corev1.Service{} },
	"Deployment":                     func() any { return &appsv1.Deployment{} },
	"PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"ClusterRole":                    func() any { return &rbacv1.ClusterRole{} },
	"ClusterRoleBinding":             func() any { return &rbacv1.ClusterRoleBinding{} },
	"ValidatingWebhookConfiguration": func() any { return &admregv1.ValidatingWebhookConfiguration{} },
	"MutatingWebhookConfiguration":   func() any { return &admregv1.MutatingWebhookConfiguration{} },
}

var crds = map[string]string{
	"CiliumNetworkPolicy": "cilium.io/v2",
	"Certificate":         "cert-manager.io/v1",
	"Issuer":              "cert-manager.io/v1",
}

func parse(t *testing.T, stream []byte) manifests {
	t.Helper()
	m := manifests{byKind: map[string][][]byte{}}
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(stream), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var tm metav1.TypeMeta
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(j, &tm); err != nil || tm.Kind == "" || tm.APIVersion == "" {
			t.Fatalf("document %d has no apiVersion/kind: %s", i, j)
		}
		if err := yaml.Unmarshal(j, &meta); err != nil || meta.Metadata.Name == "" {
			t.Fatalf("%s document %d has no name", tm.Kind, i)
		}
		if mk, ok := typed[tm.Kind]; ok {
			if err := yaml.UnmarshalStrict(j, mk()); err != nil {
				t.Fatalf("%s %s: %v", tm.Kind, meta.Metadata.Name, err)
			}
		} else if crds[tm.Kind] != tm.APIVersion {
			t.Fatalf("%s %s: unexpected kind or apiVersion %s", tm.Kind, meta.Metadata.Name, tm.APIVersion)
		}
		m.byKind[tm.Kind] = append(m.byKind[tm.Kind], j)
	}
	return m
}

// build renders a kustomization with kubectl's built-in kustomize when
// there is one; otherwise it concatenates the resources the kustomization
// lists (no transforms: the checks that need them are skipped).
func build(t *testing.T, dir string) (out []byte, rendered bool) {
	t.Helper()
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		cmd := exec.Command(kubectl, "kustomize", dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if out, err := cmd.Output(); err == nil {
			return out, true
		} else if !errors.Is(err, exec.ErrNotFound) {
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
		}
	}
	t.Logf("kubectl not found: checking %s's resources as written, without kustomize's transforms", dir)
	return concatResources(t, dir), false
}

func concatResources(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			out.Write(concatResources(t, p))
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("\n---\n")
		out.Write(b)
	}
	return out.Bytes()
}

// readKinds are the resources the webhook reads, with their kinds: each
// one must be in the webhook's rules, and each one must be a kind the
// extractor reads (not out of scope).
var readKinds = map[string]metav1.GroupVersionKind{
	"/pods":                                 {Version: "v1", Kind: "Pod"},
	"/pods/ephemeralcontainers":             {Version: "v1", Kind: "Pod"},
	"/replicationcontrollers":               {Version: "v1", Kind: "ReplicationController"},
	"apps/deployments":                      {Group: "apps", Version: "v1", Kind: "Deployment"},
	"apps/replicasets":                      {Group: "apps", Version: "v1", Kind: "ReplicaSet"},
	"apps/statefulsets":                     {Group: "apps", Version: "v1", Kind: "StatefulSet"},
	"apps/daemonsets":                       {Group: "apps", Version: "v1", Kind: "DaemonSet"},
	"batch/jobs":                            {Group: "batch", Version: "v1", Kind: "Job"},
	"batch/cronjobs":                        {Group: "batch", Version: "v1", Kind: "CronJob"},
	"kubeflow.org/notebooks":                {Group: "kubeflow.org", Version: "v1", Kind: "Notebook"},
	"kubeflow.org/pytorchjobs":              {Group: "kubeflow.org", Version: "v1", Kind: "PyTorchJob"},
	"kubeflow.org/tfjobs":                   {Group: "kubeflow.org", Version: "v1", Kind: "TFJob"},
	"kubeflow.org/xgboostjobs":              {Group: "kubeflow.org", Version: "v1", Kind: "XGBoostJob"},
	"kubeflow.org/paddlejobs":               {Group: "kubeflow.org", Version: "v1", Kind: "PaddleJob"},
	"kubeflow.org/jaxjobs":                  {Group: "kubeflow.org", Version: "v1", Kind: "JAXJob"},
	"kubeflow.org/mpijobs":                  {Group: "kubeflow.org", Version: "v1", Kind: "MPIJob"},
	"trainer.kubeflow.org/trainjobs":        {Group: "trainer.kubeflow.org", Version: "v1alpha1", Kind: "TrainJob"},
	"trainer.kubeflow.org/trainingruntimes": {Group: "trainer.kubeflow.org", Version: "v1alpha1", Kind: "TrainingRuntime"},
	"jobset.x-k8s.io/jobsets":               {Group: "jobset.x-k8s.io", Version: "v1alpha2", Kind: "JobSet"},
	"serving.kserve.io/inferenceservices":   {Group: "serving.kserve.io", Version: "v1beta1", Kind: "InferenceService"},
	"serving.kserve.io/servingruntimes":     {Group: "serving.kserve.io", Version: "v1alpha1", Kind: "ServingRuntime"},
	"argoproj.io/workflows":                 {Group: "argoproj.io", Version: "v1alpha1", Kind: "Workflow"},
	"argoproj.io/workflowtemplates":         {Group: "argoproj.io", Version: "v1alpha1", Kind: "WorkflowTemplate"},
	"argoproj.io/cronworkflows":             {Group: "argoproj.io", Version: "v1alpha1", Kind: "CronWorkflow"},
}

func checkWebhook(t *testing.T, name, path string, w admregv1.ValidatingWebhook) {
	t.Helper()
	if w.FailurePolicy == nil || *w.FailurePolicy != admregv1.Fail {
		t.Errorf("%s: failurePolicy %s, want Fail", name, deref(w.FailurePolicy))
	}
	if w.SideEffects == nil || *w.SideEffects != admregv1.SideEffectClassNone {
		t.Errorf("%s: sideEffects %s, want None", name, deref(w.SideEffects))
	}
	if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 10 {
		t.Errorf("%s: timeoutSeconds %s, want 10", name, deref(w.TimeoutSeconds))
	}
	if !slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) {
		t.Errorf("%s: admissionReviewVersions %v, want [v1]", name, w.AdmissionReviewVersions)
	}
	if s := w.ClientConfig.Service; s == nil || s.Name != "gatehouse" || s.Namespace != "gatehouse-system" || s.Path == nil || *s.Path != path {
		t.Errorf("%s: clientConfig %+v, want service gatehouse/gatehouse-system %s", name, w.ClientConfig, path)
	}
	excluded := map[string]bool{}
	for _, e := range w.NamespaceSelector.MatchExpressions {
		if e.Key == "kubernetes.io/metadata.name" && e.Operator == metav1.LabelSelectorOpNotIn {
			for _, v := range e.Values {
				excluded[v] = true
			}
		}
	}
	for _, ns := range admission.DefaultExemptNamespaces {
		if !excluded[ns] {
			t.Errorf("%s: namespaceSelector does not exclude %s", name, ns)
		}
	}
	covered := map[string]bool{}
	for _, r := range w.Rules {
		if !slices.Contains(r.Operations, admregv1.Create) || !slices.Contains(r.Operations, admregv1.Update) {
			t.Errorf("%s: rule %v does not cover CREATE and UPDATE", name, r.Resources)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				key := g + "/" + res
				covered[key] = true
				gvk, ok := readKinds[key]
				if !ok {
					t.Errorf("%s: rule for %s, which gatehouse does not read", name, key)
					continue
				}
				sub := ""
				if _, s, ok := strings.Cut(res, "/"); ok {
					sub = s
				}
				_, err := admission.Extract(gvk, sub, []byte(`{"metadata":{"name":"x"}}`))
				if errors.Is(err, admission.ErrOutOfScope) {
					t.Errorf("%s: %s (%v) is out of scope for the extractor: %v", name, key, gvk, err)
				}
			}
		}
	}
	for key := range readKinds {
		if !covered[key] {
			t.Errorf("%s: no rule for %s", name, key)
		}
	}
	if len(w.MatchConditions) == 0 {
		t.Errorf("%s: no matchConditions (metadata-only updates would be reviewed)", name)
	}
}

func TestBase(t *testing.T) {
	out, rendered := build(t, "base")
	m := parse(t, out)

	var d appsv1.Deployment
	m.one(t, "Deployment", &d)
	spec := d.Spec.Template.Spec
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want non-root", spec.SecurityContext)
	}
	if a := spec.Affinity; a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Error("no required pod anti-affinity: both replicas could land on one node")
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers", len(spec.Containers))
	}
	c := spec.Containers[0]
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext %+v: want read-only root, no privilege escalation, all capabilities dropped", c.SecurityContext)
	}
	if c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("resources %+v: want requests and limits", c.Resources)
	}
	for what, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Scheme != corev1.URISchemeHTTPS {
			t.Errorf("%s probe %+v: want an HTTPS GET", what, p)
		}
	}
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe != nil && c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("probes must be /readyz (readiness) and /healthz (liveness)")
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"serve", "--tls-cert=", "--tls-key=", "--in-cluster", "--config="} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %s", args, want)
		}
	}
	if strings.Contains(args, "--self-signed") {
		t.Error("the deployment serves a self-signed certificate")
	}
	if rendered {
		if !regexp.MustCompile(`@sha256:[0-9a-f]{64}$`).MatchString(c.Image) {
			t.Errorf("image %q is not pinned by digest", c.Image)
		}
		if d.Namespace != "gatehouse-system" {
			t.Errorf("deployment namespace %q", d.Namespace)
		}
	}

	var pdb policyv1.PodDisruptionBudget
	m.one(t, "PodDisruptionBudget", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || pdb.Spec.Selector == nil || pdb.Spec.Selector.MatchLabels["app"] != "gatehouse" {
		t.Errorf("PDB %+v: want minAvailable >= 1 over app=gatehouse", pdb.Spec)
	}

	var role rbacv1.ClusterRole
	m.one(t, "ClusterRole", &role)
	if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].Resources, []string{"namespaces"}) ||
		!slices.Equal(role.Rules[0].APIGroups, []string{""}) || !slices.Equal(role.Rules[0].Verbs, []string{"get", "list", "watch"}) {
		t.Errorf("ClusterRole rules %+v: want namespaces get/list/watch only", role.Rules)
	}

	var vwc admregv1.ValidatingWebhookConfiguration
	m.one(t, "ValidatingWebhookConfiguration", &vwc)
	if len(vwc.Webhooks) != 1 {
		t.Fatalf("%d validating webhooks", len(vwc.Webhooks))
	}
	checkWebhook(t, "validate", "/validate", vwc.Webhooks[0])

	var svc corev1.Service
	m.one(t, "Service", &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("service ports %+v, want 443", svc.Spec.Ports)
	}
	if len(m.byKind["CiliumNetworkPolicy"]) != 1 {
		t.Error("no CiliumNetworkPolicy for the webhook")
	}
	var cnp struct {
		Spec struct {
			EndpointSelector metav1.LabelSelector `json:"endpointSelector"`
			Ingress          []map[string]any     `json:"ingress"`
			Egress           []map[string]any     `json:"egress"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(m.byKind["CiliumNetworkPolicy"][0], &cnp); err != nil || cnp.Spec.EndpointSelector.MatchLabels["app"] != "gatehouse" ||
		len(cnp.Spec.Ingress) == 0 || len(cnp.Spec.Egress) == 0 {
		t.Errorf("CiliumNetworkPolicy: %v %+v: want ingress and egress rules for app=gatehouse", err, cnp.Spec)
	}
	// The configuration the pods mount parses as the webhook reads it.
	if rendered {
		var cm corev1.ConfigMap
		m.one(t, "ConfigMap", &cm)
		if _, ok := cm.Data["gatehouse.yaml"]; !ok {
			t.Errorf("config map keys %v lack gatehouse.yaml", keys(cm.Data))
		}
	}
}

func TestConfigParses(t *testing.T) {
	const file = "base/config/gatehouse.yaml"
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := gates.ParseConfig(file, b, "base/config")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := admission.ParseConfig(&gc.Admission, file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultMode != admission.ModeAudit {
		t.Errorf("shipped default_mode %q: the rollout starts in audit", cfg.DefaultMode)
	}
}

func TestMutatingOverlay(t *testing.T) {
	out, _ := build(t, "mutating")
	m := parse(t, out)
	var mwc admregv1.MutatingWebhookConfiguration
	m.one(t, "MutatingWebhookConfiguration", &mwc)
	if len(mwc.Webhooks) != 1 {
		t.Fatalf("%d mutating webhooks", len(mwc.Webhooks))
	}
	w := mwc.Webhooks[0]
	checkWebhook(t, "mutate", "/mutate", admregv1.ValidatingWebhook{
		Name: w.Name, ClientConfig: w.ClientConfig, Rules: w.Rules, FailurePolicy: w.FailurePolicy, MatchPolicy: w.MatchPolicy,
		NamespaceSelector: w.NamespaceSelector, SideEffects: w.SideEffects, TimeoutSeconds: w.TimeoutSeconds,
		AdmissionReviewVersions: w.AdmissionReviewVersions, MatchConditions: w.MatchConditions,
	})
	if len(m.byKind["ValidatingWebhookConfiguration"]) != 1 {
		t.Error("the mutating overlay dropped the validating webhook")
	}
}

func TestCertManagerOverlay(t *testing.T) {
	out, _ := build(t, "cert-manager")
	m := parse(t, out)
	var cert struct {
		Spec struct {
			SecretName string   `json:"secretName"`
			DNSNames   []string `json:"dnsNames"`
		} `json:"spec"`
	}
	if len(m.byKind["Certificate"]) != 1 {
		t.Fatal("no Certificate")
	}
	yaml.Unmarshal(m.byKind["Certificate"][0], &cert)
	var d appsv1.Deployment
	m.one(t, "Deployment", &d)
	secret := ""
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			secret = v.Secret.SecretName
		}
	}
	if cert.Spec.SecretName != secret || !slices.Contains(cert.Spec.DNSNames, "gatehouse.gatehouse-system.svc") {
		t.Errorf("certificate %+v does not serve the deployment's secret %q for the service name", cert.Spec, secret)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func deref[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}
