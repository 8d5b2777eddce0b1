package admission

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the webhook's Prometheus metrics, on a registry of their own
// (not the global one), so tests and several servers in one process do not
// collide.
type Metrics struct {
	Registry *prometheus.Registry

	requests      *prometheus.CounterVec
	decisions     *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	cacheHits     prometheus.Counter
	cacheMisses   prometheus.Counter
	policyReloads *prometheus.CounterVec
	policyInfo    *prometheus.GaugeVec
	recordErrors  prometheus.Counter
}

// NewMetrics registers the webhook's metrics, and Go's and the process's.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_admission_requests_total",
			Help: "HTTP requests to the webhook, by path and status code.",
		}, []string{"path", "code"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_admission_decisions_total",
			Help: "Admission decisions by endpoint and outcome (allowed, denied, warned, audited, error, skipped).",
		}, []string{"path", "outcome"}),
		// Buckets from 0.5 ms: a warm-cache review takes about a millisecond,
		// the API server gives up at timeoutSeconds (10 s).
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_admission_review_duration_seconds",
			Help:    "Time from request received to response written, by path.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"path"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_admission_in_flight_requests",
			Help: "Reviews being processed.",
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_admission_cache_hits_total",
			Help: "Image verifications answered from the decision cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_admission_cache_misses_total",
			Help: "Image verifications that went to the registry.",
		}),
		policyReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_admission_policy_reloads_total",
			Help: "Policy loads by result (ok, error); on error the last good policy stays.",
		}, []string{"result"}),
		policyInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_admission_policy_info",
			Help: "1 for the policy revision being served.",
		}, []string{"revision"}),
		recordErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_admission_record_errors_total",
			Help: "Decisions the recorder failed to store.",
		}),
	}
	m.Registry.MustRegister(m.requests, m.decisions, m.latency, m.inFlight, m.cacheHits, m.cacheMisses,
		m.policyReloads, m.policyInfo, m.recordErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{MaxRequestsInFlight: 4})
}

// observeRequest counts one HTTP request.
func (m *Metrics) observeRequest(path string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(path, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(path).Observe(d.Seconds())
}

// observeDecision counts one review's outcome and its cache use.
func (m *Metrics) observeDecision(path, outcome string, hits, misses int) {
	if m == nil {
		return
	}
	m.decisions.WithLabelValues(path, outcome).Inc()
	m.cacheHits.Add(float64(hits))
	m.cacheMisses.Add(float64(misses))
}

// PolicyLoaded counts a policy load; on success revision is now served.
func (m *Metrics) PolicyLoaded(revision string, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.policyReloads.WithLabelValues("error").Inc()
		return
	}
	m.policyReloads.WithLabelValues("ok").Inc()
	m.policyInfo.Reset()
	m.policyInfo.WithLabelValues(revision).Set(1)
}

// RecordFailed counts a decision the recorder could not store.
func (m *Metrics) RecordFailed() {
	if m != nil {
		m.recordErrors.Inc()
	}
}
