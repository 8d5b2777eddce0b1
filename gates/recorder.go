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
