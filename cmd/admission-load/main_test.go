package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// echoWebhook answers every review, allowing or denying, or fails with status.
func echoWebhook(t *testing.T, allow bool, status int) (url, caFile string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != 0 {
			http.Error(w, "broken", status)
			return
		}
		var rv struct {
			Request struct {
				UID string `json:"uid"`
			} `json:"request"`
		}
		if err := json.NewDecoder(r.Body).Decode(&rv); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
			"response": map[string]any{"uid": rv.Request.UID, "allowed": allow}})
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	return srv.URL + "/validate", caFile
}

func TestRunCountsAnswers(t *testing.T) {
	url, ca := echoWebhook(t, true, 0)
	for _, rate := range []float64{0, 200} {
		r, err := run(context.Background(), options{url: url, ca: ca, workers: 4, rate: rate, duration: 300 * time.Millisecond,
			timeout: 5 * time.Second, namespace: "ml", images: []string{"a@sha256:1", "b:latest"}, expect: "allowed"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Failed() || r.Allowed != r.Requests || r.Requests < 10 || r.P99 <= 0 || r.P50 > r.P99 || r.P99 > r.Max {
			t.Fatalf("rate %v: %+v", rate, r)
		}
		if rate > 0 && (r.Requests < 40 || r.Requests > 70) {
			t.Errorf("rate 200/s for 0.3s sent %d requests, want about 60", r.Requests)
		}
	}
}

func TestRunReportsFailures(t *testing.T) {
	url, ca := echoWebhook(t, false, 0)
	r, err := run(context.Background(), options{url: url, ca: ca, workers: 2, duration: 100 * time.Millisecond, timeout: time.Second, images: []string{"x"}, expect: "allowed"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Failed() || r.Unexpected != r.Requests || r.Denied != r.Requests {
		t.Fatalf("denials against --expect allowed: %+v", r)
	}
	url, ca = echoWebhook(t, true, http.StatusInternalServerError)
	r, err = run(context.Background(), options{url: url, ca: ca, workers: 2, duration: 100 * time.Millisecond, timeout: time.Second, images: []string{"x"}, expect: "any"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Failed() || r.HTTPStatus != r.Requests || r.Statuses[500] != r.Requests || r.FirstError == "" {
		t.Fatalf("500s: %+v", r)
	}
	// An untrusted certificate is a transport error, not a pass.
	r, err = run(context.Background(), options{url: url, workers: 1, duration: 50 * time.Millisecond, timeout: time.Second, images: []string{"x"}, expect: "any"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Transport == 0 || !r.Failed() {
		t.Fatalf("untrusted certificate: %+v", r)
	}
	if _, err := run(context.Background(), options{url: "http://127.0.0.1:1/validate", workers: 1, duration: time.Second, expect: "any"}); err == nil {
		t.Fatal("plain http URL accepted")
	}
}
