package gates

import "context"

// Recorder keeps a durable record of decisions: the audit log, or until
// then a JSON-lines file. The admission webhook records every admission
// decision through it. Record must be safe for concurrent use; an error
// means the decision was not recorded (the caller decides whether that
// fails the request).
type Recorder interface {
	Record(ctx context.Context, d *Decision) error
}

// RecordContext says where a decision was taken, for the record: the
// admission webhook puts it on the context it reviews under, so that a
// Recorder can store the namespace and requester beside the Decision
// without the engine knowing about Kubernetes.
type RecordContext struct {
	Door       string `json:"door,omitempty"` // "admission", "check", ...
	RequestUID string `json:"request_uid,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Name       string `json:"name,omitempty"`
	Operation  string `json:"operation,omitempty"`
	User       string `json:"user,omitempty"`
}

type recordContextKey struct{}

// WithRecordContext returns ctx carrying rc for the Recorder.
func WithRecordContext(ctx context.Context, rc RecordContext) context.Context {
	return context.WithValue(ctx, recordContextKey{}, rc)
}

// RecordContextFrom returns the RecordContext ctx carries, if any.
func RecordContextFrom(ctx context.Context) (RecordContext, bool) {
	rc, ok := ctx.Value(recordContextKey{}).(RecordContext)
	return rc, ok
}
