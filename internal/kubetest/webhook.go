package kubetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Webhook is one webhook registration: the API server calls URL (on
// 127.0.0.1) for the rules' objects in every namespace but the exempt ones.
type Webhook struct {
	// Name is the webhook's and the configuration's name; it must be a
	// domain name of at least three labels ("validate.gatehouse.dev").
	Name string
	// URL is the full https URL, path included (https://127.0.0.1:P/validate).
	URL string
	// CABundle verifies the webhook's certificate (PEM).
	CABundle []byte
	// ExemptNamespaces are never sent to the webhook (namespaceSelector on
	// the kubernetes.io/metadata.name label the API server sets).
	ExemptNamespaces []string
	// MatchLabels, when set, narrows the webhook to namespaces with these
	// labels (a test webhook kept out of other tests' namespaces).
	MatchLabels map[string]string
	// Rules default to DefaultRules.
	Rules []admissionregistrationv1.RuleWithOperations
	// TimeoutSeconds defaults to 10; FailurePolicy to Fail.
	TimeoutSeconds int32
	FailurePolicy  admissionregistrationv1.FailurePolicyType
}

// DefaultRules are what gatehouse's webhook registration covers in these
// tests: pods (and ephemeral containers added to them) and deployments.
func DefaultRules() []admissionregistrationv1.RuleWithOperations {
	all := admissionregistrationv1.NamespacedScope
	rule := func(group, resource string, ops ...admissionregistrationv1.OperationType) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{
			Operations: ops,
			Rule: admissionregistrationv1.Rule{
				APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: []string{resource}, Scope: &all,
			},
		}
	}
	return []admissionregistrationv1.RuleWithOperations{
		rule("", "pods", admissionregistrationv1.Create, admissionregistrationv1.Update),
		rule("", "pods/ephemeralcontainers", admissionregistrationv1.Update),
		rule("apps", "deployments", admissionregistrationv1.Create, admissionregistrationv1.Update),
	}
}

func (w Webhook) clientConfig() (admissionregistrationv1.WebhookClientConfig, error) {
	if w.Name == "" || w.URL == "" || len(w.CABundle) == 0 {
		return admissionregistrationv1.WebhookClientConfig{}, errors.New("webhook: Name, URL and CABundle are required")
	}
	url := w.URL
	return admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: w.CABundle}, nil
}

func (w Webhook) common() (rules []admissionregistrationv1.RuleWithOperations, sel *metav1.LabelSelector, timeout *int32, fp *admissionregistrationv1.FailurePolicyType, se *admissionregistrationv1.SideEffectClass) {
	rules = w.Rules
	if len(rules) == 0 {
		rules = DefaultRules()
	}
	sel = &metav1.LabelSelector{MatchLabels: w.MatchLabels}
	if len(w.ExemptNamespaces) > 0 {
		sel.MatchExpressions = []metav1.LabelSelectorRequirement{{
			Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn, Values: w.ExemptNamespaces,
		}}
	}
	t := w.TimeoutSeconds
	if t == 0 {
		t = 10
	}
	f := w.FailurePolicy
	if f == "" {
		f = admissionregistrationv1.Fail
	}
	none := admissionregistrationv1.SideEffectClassNone
	return rules, sel, &t, &f, &none
}

// RegisterValidating creates a ValidatingWebhookConfiguration for w and
// returns a function that deletes it.
func RegisterValidating(ctx context.Context, cs kubernetes.Interface, w Webhook) (remove func(context.Context) error, err error) {
	cc, err := w.clientConfig()
	if err != nil {
		return nil, err
	}
	rules, sel, timeout, fp, se := w.common()
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: w.Name, ClientConfig: cc, Rules: rules, NamespaceSelector: sel,
			TimeoutSeconds: timeout, FailurePolicy: fp, SideEffects: se,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	api := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := api.Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("register validating webhook %s: %w", w.Name, err)
	}
	return func(ctx context.Context) error { return api.Delete(ctx, w.Name, metav1.DeleteOptions{}) }, nil
}

// RegisterMutating creates a MutatingWebhookConfiguration for w and
// returns a function that deletes it.
func RegisterMutating(ctx context.Context, cs kubernetes.Interface, w Webhook) (remove func(context.Context) error, err error) {
	cc, err := w.clientConfig()
	if err != nil {
		return nil, err
	}
	rules, sel, timeout, fp, se := w.common()
	never := admissionregistrationv1.NeverReinvocationPolicy
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: w.Name, ClientConfig: cc, Rules: rules, NamespaceSelector: sel,
			TimeoutSeconds: timeout, FailurePolicy: fp, SideEffects: se,
			AdmissionReviewVersions: []string{"v1"}, ReinvocationPolicy: &never,
		}},
	}
	api := cs.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if _, err := api.Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("register mutating webhook %s: %w", w.Name, err)
	}
	return func(ctx context.Context) error { return api.Delete(ctx, w.Name, metav1.DeleteOptions{}) }, nil
}

// WaitCalled waits until a newly registered webhook is in force: the API
// server picks registrations up asynchronously. It creates a pod running
// image in namespace ns with dry run (nothing is stored; webhooks with
// sideEffects None are still called) every 100ms until seen, given the
// creation's error, says the webhook answered.
func WaitCalled(ctx context.Context, cs kubernetes.Interface, ns, image string, seen func(err error) bool) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "kubetest-probe", Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: image}}},
	}
	var last error
	for {
		_, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if seen(err) {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("webhook not called within 20s in namespace %s (last dry-run create: %v)", ns, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Warnings records the warnings the API server sends a client (as
// rest.WarningHandler), admission webhooks' warnings among them.
type Warnings struct {
	mu   sync.Mutex
	list []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *Warnings) HandleWarningHeader(code int, agent, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	w.list = append(w.list, text)
	w.mu.Unlock()
}

// Take returns the warnings recorded so far and forgets them.
func (w *Warnings) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}
