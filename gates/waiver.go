package gates

import "time"

// Waiver turns off one gate rule for matching subjects until it expires.
type Waiver struct {
	// Subject matches a subject's digest ("sha256:...") exactly, or its
	// name or reference as a glob (path.Match syntax, e.g. "models/fraud-*").
	// For a file subject (model, dataset, score, pipeline) paths are
	// compared cleaned, relative to the folder gatehouse runs in: "./m",
	// "m", "m/" and the absolute path of m are the same subject. An
	// optional "KIND:" prefix ("model:models/m") limits it to that kind.
	Subject string `json:"subject" yaml:"subject"`
	// Gate must be a gate the policy defines (ValidateWaivers).
	Gate     string    `json:"gate" yaml:"gate"`
	Rule     string    `json:"rule,omitempty" yaml:"rule,omitempty"` // empty or "*": every rule of the gate
	Reason   string    `json:"reason" yaml:"reason"`
	Approver string    `json:"approver" yaml:"approver"`
	Ticket   string    `json:"ticket,omitempty" yaml:"ticket,omitempty"`
	Expires  time.Time `json:"expires" yaml:"expires"`
}
