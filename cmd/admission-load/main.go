// Command admission-load sends AdmissionReviews to a webhook over HTTPS, at
// a target rate or as fast as N workers can, for a duration, and prints the
// latency percentiles, the throughput and every kind of failure.
//
//	admission-load --url https://127.0.0.1:8443/validate --ca ca.pem \
//	    --image ghcr.io/acme/api@sha256:... --workers 16 --duration 30s
//
// Exit status: 0 when every request got a well-formed answer (and the p99
// is within --max-p99 when given), 1 otherwise, 2 for bad flags.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	url        string
	ca         string
	insecure   bool
	rate       float64
	workers    int
	duration   time.Duration
	warmup     time.Duration
	timeout    time.Duration
	namespace  string
	images     []string
	reviewFile string
	http1      bool
	expect     string
	maxP99     time.Duration
	jsonOut    bool
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var o options
	var images stringList
	fs := flag.NewFlagSet("admission-load", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "https://127.0.0.1:8443/validate", "webhook URL (https)")
	fs.StringVar(&o.ca, "ca", "", "PEM file of the CA that signed the webhook's certificate (gatehouse serve --self-signed prints its path)")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify the webhook's certificate")
	fs.Float64Var(&o.rate, "rate", 0, "target reviews per second (0: as fast as the workers go)")
	fs.IntVar(&o.workers, "workers", 8, "concurrent requests in flight at most")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to measure")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "requests sent before measuring (fill caches, open connections)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout (the API server's timeoutSeconds)")
	fs.StringVar(&o.namespace, "namespace", "default", "namespace of the reviewed pods")
	fs.Var(&images, "image", "image of the reviewed pod (repeatable: requests rotate through them)")
	fs.StringVar(&o.reviewFile, "review", "", "an AdmissionReview JSON file to send instead of the built-in pod (its request.uid is replaced)")
	fs.BoolVar(&o.http1, "http1", false, "use HTTP/1.1 (default HTTP/2, as the API server)")
	fs.StringVar(&o.expect, "expect", "any", "answer every review must have: allowed, denied or any")
	fs.DurationVar(&o.maxP99, "max-p99", 0, "fail (exit 1) when the p99 latency is above this")
	fs.BoolVar(&o.jsonOut, "json", false, "print the result as JSON")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	o.images = images
	if len(o.images) == 0 {
		o.images = []string{"registry.example/app@sha256:" + strings.Repeat("0", 64)}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "admission-load:", err)
		os.Exit(2)
	}
	if o.jsonOut {
		json.NewEncoder(os.Stdout).Encode(res)
	} else {
		res.print(os.Stdout)
	}
	if res.Failed() || o.maxP99 > 0 && res.P99 > o.maxP99 {
		os.Exit(1)
	}
}

// result is what a run measured.
type result struct {
	Requests   int64         `json:"requests"`
	Allowed    int64         `json:"allowed"`
	Denied     int64         `json:"denied"`
	Unexpected int64         `json:"unexpected_answers"` // allowed/denied against --expect
	Transport  int64         `json:"transport_errors"`
	HTTPStatus int64         `json:"http_errors"` // a status other than 200
	Malformed  int64         `json:"malformed_answers"`
	Late       int64         `json:"late_starts"` // rate mode: requests that started > 10ms behind schedule
	Elapsed    time.Duration `json:"elapsed_ns"`
	Throughput float64       `json:"reviews_per_second"`
	P50        time.Duration `json:"p50_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	Max        time.Duration `json:"max_ns"`
	Statuses   map[int]int64 `json:"statuses,omitempty"`
	FirstError string        `json:"first_error,omitempty"`
}

func (r *result) Failed() bool {
	return r.Transport+r.HTTPStatus+r.Malformed+r.Unexpected > 0 || r.Requests == 0
}

func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "requests %d in %s: %.0f reviews/s\n", r.Requests, r.Elapsed.Round(time.Millisecond), r.Throughput)
	fmt.Fprintf(w, "latency p50 %s  p90 %s  p99 %s  max %s\n", ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
	fmt.Fprintf(w, "answers allowed %d  denied %d  unexpected %d\n", r.Allowed, r.Denied, r.Unexpected)
	fmt.Fprintf(w, "errors transport %d  http %d %v  malformed %d  late starts %d\n", r.Transport, r.HTTPStatus, r.Statuses, r.Malformed, r.Late)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms" }

// bodies builds the request bodies: every review is prefix + uid + suffix.
type bodies struct{ prefix, suffix [][]byte }

const uidMark = "\u0000gatehouse-load-uid\u0000"

func buildBodies(o options) (bodies, error) {
	var templates []map[string]any
	if o.reviewFile != "" {
		b, err := os.ReadFile(o.reviewFile)
		if err != nil {
			return bodies{}, err
		}
		var rv map[string]any
		if err := json.Unmarshal(b, &rv); err != nil {
			return bodies{}, fmt.Errorf("--review %s: %w", o.reviewFile, err)
		}
		if _, ok := rv["request"].(map[string]any); !ok {
			return bodies{}, fmt.Errorf("--review %s: no request object", o.reviewFile)
		}
		templates = append(templates, rv)
	} else {
		for i, img := range o.images {
			templates = append(templates, podReview(o.namespace, fmt.Sprintf("load-%d", i), img))
		}
	}
	var out bodies
	for _, t := range templates {
		t["request"].(map[string]any)["uid"] = uidMark
		b, err := json.Marshal(t)
		if err != nil {
			return bodies{}, err
		}
		mark, _ := json.Marshal(uidMark)
		pre, suf, ok := bytes.Cut(b, mark)
		if !ok {
			return bodies{}, errors.New("internal: uid mark not found")
		}
		out.prefix = append(out.prefix, append(pre, '"'))
		out.suffix = append(out.suffix, append([]byte{'"'}, suf...))
	}
	return out, nil
}

func podReview(ns, name, image string) map[string]any {
	return map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"kind":      map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
			"namespace": ns, "name": name, "operation": "CREATE",
			"userInfo": map[string]any{"username": "admission-load"},
			"object": map[string]any{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": name, "namespace": ns},
				"spec": map[string]any{"containers": []any{
					map[string]any{"name": "app", "image": image},
				}},
			},
		},
	}
}

func client(o options) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.insecure}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate", o.ca)
		}
		tc.RootCAs = pool
	}
	if o.http1 {
		return &http.Client{Timeout: o.timeout, Transport: &http.Transport{
			TLSClientConfig: tc, MaxIdleConnsPerHost: o.workers, MaxConnsPerHost: o.workers,
		}}, nil
	}
	// One HTTP/2 connection multiplexing every stream, as the API server.
	return &http.Client{Timeout: o.timeout, Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}}, nil
}

// sample is one request's outcome.
type sample struct {
	latency time.Duration
	kind    int // 0 ok allowed, 1 ok denied, 2 transport, 3 http status, 4 malformed
	status  int
	err     string
}

func run(ctx context.Context, o options) (*result, error) {
	if !strings.HasPrefix(o.url, "https://") {
		return nil, fmt.Errorf("--url %s: the webhook is HTTPS only", o.url)
	}
	if o.workers < 1 || o.duration <= 0 || o.rate < 0 {
		return nil, errors.New("--workers must be >= 1, --duration positive, --rate >= 0")
	}
	switch o.expect {
	case "any", "allowed", "denied":
	default:
		return nil, fmt.Errorf("--expect %q: want allowed, denied or any", o.expect)
	}
	bs, err := buildBodies(o)
	if err != nil {
		return nil, err
	}
	c, err := client(o)
	if err != nil {
		return nil, err
	}
	var seq atomic.Int64
	one := func(ctx context.Context, scheduled time.Time) sample {
		n := seq.Add(1)
		i := int(n) % len(bs.prefix)
		uid := fmt.Sprintf("load-%d", n)
		body := make([]byte, 0, len(bs.prefix[i])+len(uid)+len(bs.suffix[i]))
		body = append(append(append(body, bs.prefix[i]...), uid...), bs.suffix[i]...)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.url+"?timeout="+strconv.Itoa(int(o.timeout.Seconds()))+"s", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return sample{latency: time.Since(scheduled), kind: 2, err: err.Error()}
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		lat := time.Since(scheduled)
		if resp.StatusCode != http.StatusOK {
			return sample{latency: lat, kind: 3, status: resp.StatusCode, err: fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, b)}
		}
		var rv struct {
			APIVersion string `json:"apiVersion"`
			Response   *struct {
				UID     string `json:"uid"`
				Allowed bool   `json:"allowed"`
			} `json:"response"`
		}
		if err != nil || json.Unmarshal(b, &rv) != nil || rv.Response == nil || rv.Response.UID != uid || rv.APIVersion != "admission.k8s.io/v1" {
			return sample{latency: lat, kind: 4, err: fmt.Sprintf("malformed answer to %s: %.200s", uid, b)}
		}
		if rv.Response.Allowed {
			return sample{latency: lat, kind: 0}
		}
		return sample{latency: lat, kind: 1}
	}

	if o.warmup > 0 {
		phase(ctx, o, o.warmup, one)
	}
	samples, late, elapsed := phase(ctx, o, o.duration, one)
	return summarize(samples, late, elapsed, o.expect), nil
}

// phase runs requests for d and returns every sample.
func phase(ctx context.Context, o options, d time.Duration, one func(context.Context, time.Time) sample) ([]sample, int64, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var late atomic.Int64
	var mu sync.Mutex
	var all []sample
	var wg sync.WaitGroup
	work := make(chan time.Time, o.workers)
	if o.rate > 0 {
		go func() {
			defer close(work)
			interval := time.Duration(float64(time.Second) / o.rate)
			next := time.Now()
			for {
				if w := time.Until(next); w > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(w):
					}
				}
				select {
				case <-ctx.Done():
					return
				case work <- next:
				}
				next = next.Add(interval)
			}
		}()
	}
	for range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			defer func() { mu.Lock(); all = append(all, mine...); mu.Unlock() }()
			for {
				var scheduled time.Time
				if o.rate > 0 {
					var ok bool
					if scheduled, ok = <-work; !ok {
						return
					}
					if time.Since(scheduled) > 10*time.Millisecond {
						late.Add(1)
					}
				} else {
					if ctx.Err() != nil {
						return
					}
					scheduled = time.Now()
				}
				// The request itself is not cut by the phase's end.
				s := one(context.WithoutCancel(ctx), scheduled)
				mine = append(mine, s)
			}
		}()
	}
	wg.Wait()
	return all, late.Load(), time.Since(start)
}

func summarize(samples []sample, late int64, elapsed time.Duration, expect string) *result {
	r := &result{Requests: int64(len(samples)), Late: late, Elapsed: elapsed, Statuses: map[int]int64{}}
	lat := make([]time.Duration, 0, len(samples))
	for _, s := range samples {
		lat = append(lat, s.latency)
		switch s.kind {
		case 0:
			r.Allowed++
			if expect == "denied" {
				r.Unexpected++
			}
		case 1:
			r.Denied++
			if expect == "allowed" {
				r.Unexpected++
			}
		case 2:
			r.Transport++
		case 3:
			r.HTTPStatus++
			r.Statuses[s.status]++
		case 4:
			r.Malformed++
		}
		if s.err != "" && r.FirstError == "" {
			r.FirstError = s.err
		}
	}
	if len(r.Statuses) == 0 {
		r.Statuses = nil
	}
	slices.Sort(lat)
	r.P50, r.P90, r.P99 = pct(lat, 50), pct(lat, 90), pct(lat, 99)
	if len(lat) > 0 {
		r.Max = lat[len(lat)-1]
	}
	if elapsed > 0 {
		r.Throughput = float64(len(samples)) / elapsed.Seconds()
	}
	return r
}

// pct is the nearest-rank percentile of sorted.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}
