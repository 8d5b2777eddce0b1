package gates

import "time"

// Waiver turns off one gate rule for matching subjects until it expires.
type Waiver struct {
	// Subject matches a subject's digest ("sha256:...") exactly, or its
	// name or reference as a glob (path.Match syntax, e.g. "models/fraud-*").
	Subject  string    `json:"subject" yaml:"subject"`
	Gate     string    `json:"gate" yaml:"gate"`
	Rule     string    `json:"rule,omitempty" yaml:"rule,omitempty"` // empty or "*": every rule of the gate
	Reason   string    `json:"reason" yaml:"reason"`
	Approver string    `json:"approver" yaml:"approver"`
	Ticket   string    `json:"ticket,omitempty" yaml:"ticket,omitempty"`
	Expires  time.Time `json:"expires" yaml:"expires"`
}
