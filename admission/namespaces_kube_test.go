package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// fakeNamespaceAPI is the part of an API server the namespace watch uses:
// list, watch (events sent with send) and get of namespaces.
type fakeNamespaceAPI struct {
	mu     sync.Mutex
	ns     map[string]map[string]string
	rv     int
	events chan string
	gets   []string
}

func (f *fakeNamespaceAPI) object(name string) corev1.Namespace {
	return corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: f.ns[name], ResourceVersion: fmt.Sprint(f.rv)}}
}

// send updates (or adds) a namespace and tells the watchers.
func (f *fakeNamespaceAPI) send(name string, labels map[string]string) {
	f.mu.Lock()
	typ := "MODIFIED"
	if _, ok := f.ns[name]; !ok {
		typ = "ADDED"
	}
	f.ns[name] = labels
	f.rv++
	b, _ := json.Marshal(map[string]any{"type": typ, "object": f.object(name)})
	f.mu.Unlock()
	f.events <- string(b)
}

func (f *fakeNamespaceAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if name, ok := strings.CutPrefix(r.URL.Path, "/api/v1/namespaces/"); ok {
		f.mu.Lock()
		f.gets = append(f.gets, name)
		_, found := f.ns[name]
		obj := f.object(name)
		f.mu.Unlock()
		if !found {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: "Failure",
				Reason: metav1.StatusReasonNotFound, Code: 404, Details: &metav1.StatusDetails{Name: name, Kind: "namespaces"}})
			return
		}
		json.NewEncoder(w).Encode(obj)
		return
	}
	if r.URL.Path != "/api/v1/namespaces" {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("watch") == "true" {
		fl := w.(http.Flusher)
		w.WriteHeader(200)
		// client-go from v0.35 opens its informers with a watch list
		// (sendInitialEvents=true): the existing namespaces as ADDED
		// events, then a bookmark that marks their end, as a real API
		// server sends them.
		if r.URL.Query().Get("sendInitialEvents") == "true" {
			f.mu.Lock()
			for n := range f.ns {
				b, _ := json.Marshal(map[string]any{"type": "ADDED", "object": f.object(n)})
				fmt.Fprintln(w, string(b))
			}
			end := corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
				ObjectMeta: metav1.ObjectMeta{ResourceVersion: fmt.Sprint(f.rv), Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}
			b, _ := json.Marshal(map[string]any{"type": "BOOKMARK", "object": end})
			fmt.Fprintln(w, string(b))
			f.mu.Unlock()
		}
		fl.Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case ev := <-f.events:
				fmt.Fprintln(w, ev)
				fl.Flush()
			}
		}
	}
	f.mu.Lock()
	list := corev1.NamespaceList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NamespaceList"}, ListMeta: metav1.ListMeta{ResourceVersion: fmt.Sprint(f.rv)}}
	for n := range f.ns {
		list.Items = append(list.Items, f.object(n))
	}
	f.mu.Unlock()
	json.NewEncoder(w).Encode(list)
}

func TestKubeNamespaces(t *testing.T) {
	api := &fakeNamespaceAPI{ns: map[string]map[string]string{
		"ml":          {"gatehouse.dev/mode": "warn", "gatehouse.dev/environment": "dev"},
		"kube-system": nil,
	}, events: make(chan string, 10)}
	srv := httptest.NewServer(api)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kn, err := NewKubeNamespaces(ctx, &rest.Config{Host: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(nil, "gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	look := kn.For(cfg)

	ns, err := look.Namespace(ctx, "ml")
	if err != nil || ns.Mode != ModeWarn || ns.Environment != "dev" || ns.Exempt {
		t.Fatalf("ml: %+v, %v; want warn mode in dev from its labels", ns, err)
	}
	if ns, err := look.Namespace(ctx, "kube-system"); err != nil || !ns.Exempt {
		t.Fatalf("kube-system: %+v, %v; want exempt", ns, err)
	}
	if len(api.gets) != 0 {
		t.Errorf("lookups of listed namespaces called the API: %v", api.gets)
	}

	// A label change arrives through the watch.
	api.send("ml", map[string]string{"gatehouse.dev/mode": "enforce"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		ns, _ := look.Namespace(ctx, "ml")
		if ns.Mode == ModeEnforce {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("label change not seen: %+v", ns)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A namespace the watch has not delivered is fetched; one that does
	// not exist is an error (the admitter applies the failure mode).
	api.mu.Lock()
	api.ns["fresh"] = map[string]string{"gatehouse.dev/mode": "audit"}
	api.mu.Unlock()
	if ns, err := look.Namespace(ctx, "fresh"); err != nil || ns.Mode != ModeAudit {
		t.Fatalf("fresh: %+v, %v", ns, err)
	}
	if _, err := look.Namespace(ctx, "ghost"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("ghost: %v", err)
	}
}

func TestKubeNamespacesUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}`, 403)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := NewKubeNamespaces(ctx, &rest.Config{Host: srv.URL}, nil); err == nil {
		t.Fatal("a watch that cannot list started")
	}
}
