package admission

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// KubeRESTConfig is the client configuration from a kubeconfig file, or
// the pod's service account when kubeconfig is "".
func KubeRESTConfig(kubeconfig string) (*rest.Config, error) {
	var rc *rest.Config
	var err error
	if kubeconfig == "" {
		rc, err = rest.InClusterConfig()
	} else {
		rc, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	rc.UserAgent = "gatehouse-admission"
	// Lookups happen inside a review's deadline: bound each call.
	rc.Timeout = 5 * time.Second
	return rc, nil
}

// KubeNamespaces keeps every namespace's labels in memory from a watch
// (list/watch/get of namespaces is all the RBAC it needs), so a review
// asks no API call. A namespace the watch has not delivered yet (created a
// moment ago) is fetched directly.
type KubeNamespaces struct {
	client   corev1client.NamespacesGetter
	informer toolscache.SharedIndexInformer
	log      *slog.Logger
}

// syncTimeout bounds the first list of namespaces at start.
const syncTimeout = 30 * time.Second

// NewKubeNamespaces starts the namespace watch and waits for its first
// list; it stops when ctx ends.
func NewKubeNamespaces(ctx context.Context, rc *rest.Config, log *slog.Logger) (*KubeNamespaces, error) {
	c, err := corev1client.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return newKubeNamespaces(ctx, c, log)
}

func newKubeNamespaces(ctx context.Context, c corev1client.NamespacesGetter, log *slog.Logger) (*KubeNamespaces, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.Namespaces().List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.Namespaces().Watch(ctx, o)
		},
	}
	inf := toolscache.NewSharedIndexInformer(lw, &corev1.Namespace{}, 0, toolscache.Indexers{})
	// Only names and labels are read: drop the rest to bound memory.
	if err := inf.SetTransform(func(o any) (any, error) {
		if ns, ok := o.(*corev1.Namespace); ok {
			return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.Name, Labels: ns.Labels, ResourceVersion: ns.ResourceVersion}}, nil
		}
		return o, nil
	}); err != nil {
		return nil, err
	}
	go inf.RunWithContext(ctx)
	sctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if !toolscache.WaitForCacheSync(sctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("kubernetes: namespaces could not be listed (waited up to %s; check the API server address and RBAC: namespaces get, list, watch)", syncTimeout)
	}
	return &KubeNamespaces{client: c, informer: inf, log: log}, nil
}

// Labels returns a namespace's labels: from the watch's cache, else from
// the API server. A namespace that does not exist is an error.
func (k *KubeNamespaces) Labels(ctx context.Context, name string) (map[string]string, error) {
	if o, ok, err := k.informer.GetStore().GetByKey(name); err == nil && ok {
		if ns, ok := o.(*corev1.Namespace); ok {
			return ns.Labels, nil
		}
	}
	ns, err := k.client.Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("namespace %s does not exist", name)
	}
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	return ns.Labels, nil
}

// For is the NamespaceLookup of the cluster's labels read under cfg (a
// reloaded configuration gets a new lookup over the same watch).
func (k *KubeNamespaces) For(cfg *Config) NamespaceLookup { return kubeLookup{k, cfg} }

type kubeLookup struct {
	k   *KubeNamespaces
	cfg *Config
}

func (l kubeLookup) Namespace(ctx context.Context, name string) (Namespace, error) {
	labels, err := l.k.Labels(ctx, name)
	if err != nil {
		return Namespace{}, err
	}
	return l.cfg.Namespace(name, labels), nil
}
