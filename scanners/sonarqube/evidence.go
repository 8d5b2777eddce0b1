package sonarqube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Schema versions the evidence document (input.evidence.sonarqube).
const Schema = "sonarqube/v1"

// Evidence is what the sonarqube gate reads: SonarQube's project_status
// response as the server returns it, plus what the collector learnt on the
// way (task, new-code issue counts, where to look).
type Evidence struct {
	Schema        string        `json:"schema"`
	ProjectStatus ProjectStatus `json:"projectStatus"`
	ProjectKey    string        `json:"projectKey,omitempty"`
	Organization  string        `json:"organization,omitempty"`
	ServerURL     string        `json:"serverUrl,omitempty"`
	DashboardURL  string        `json:"dashboardUrl,omitempty"`
	Task          *Task         `json:"task,omitempty"`
	Issues        *IssueCounts  `json:"issues,omitempty"`
}

// ProjectStatus is api/qualitygates/project_status's projectStatus. It
// marshals back exactly as the server sent it (fields this type does not
// name included), so the gate sees SonarQube's own document.
type ProjectStatus struct {
	// Status is OK, WARN, ERROR or NONE (no quality gate).
	Status            string      `json:"status"`
	IgnoredConditions bool        `json:"ignoredConditions,omitempty"`
	CaycStatus        string      `json:"caycStatus,omitempty"`
	Conditions        []Condition `json:"conditions"`
	Period            *Period     `json:"period,omitempty"`
	Periods           []Period    `json:"periods,omitempty"`

	raw json.RawMessage // as received, compacted
}

// projectStatusFields has ProjectStatus's fields without its methods.
type projectStatusFields ProjectStatus

// UnmarshalJSON keeps the object as received beside the typed fields.
func (ps *ProjectStatus) UnmarshalJSON(b []byte) error {
	var f projectStatusFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	*ps = ProjectStatus(f)
	if !bytes.Equal(buf.Bytes(), []byte("null")) {
		ps.raw = buf.Bytes()
	}
	return nil
}

// MarshalJSON writes the object as received, or the typed fields when it
// was built in Go.
func (ps ProjectStatus) MarshalJSON() ([]byte, error) {
	if ps.raw != nil {
		return ps.raw, nil
	}
	return json.Marshal(projectStatusFields(ps))
}

// Condition is one quality-gate condition and how the analysis fared.
type Condition struct {
	Status           string `json:"status"`
	MetricKey        string `json:"metricKey"`
	Comparator       string `json:"comparator"`
	ErrorThreshold   string `json:"errorThreshold,omitempty"`
	WarningThreshold string `json:"warningThreshold,omitempty"`
	ActualValue      string `json:"actualValue,omitempty"`
	PeriodIndex      int    `json:"periodIndex,omitempty"`
}

// Period is the new-code period the gate was computed on.
type Period struct {
	Index     int    `json:"index,omitempty"`
	Mode      string `json:"mode,omitempty"`
	Date      string `json:"date,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

// Task is the part of api/ce/task's task the evidence keeps.
type Task struct {
	ID            string `json:"id"`
	Type          string `json:"type,omitempty"`
	Status        string `json:"status"`
	AnalysisID    string `json:"analysisId,omitempty"`
	ComponentKey  string `json:"componentKey,omitempty"`
	Branch        string `json:"branch,omitempty"`
	PullRequest   string `json:"pullRequest,omitempty"`
	ErrorMessage  string `json:"errorMessage,omitempty"`
	SubmittedAt   string `json:"submittedAt,omitempty"`
	ExecutedAt    string `json:"executedAt,omitempty"`
	WarningCount  int    `json:"warningCount,omitempty"`
	ExecutionTime int64  `json:"executionTimeMs,omitempty"`
}

// IssueCounts are the analysis's open issues in new code.
type IssueCounts struct {
	Total int `json:"total"`
	// BySeverity uses the legacy severities (BLOCKER, CRITICAL, MAJOR, MINOR, INFO).
	BySeverity map[string]int `json:"by_severity"`
	// ByImpact uses the MQR impact severities (BLOCKER, HIGH, MEDIUM, LOW, INFO), 10.2+.
	ByImpact map[string]int `json:"by_impact"`
	// Error says why the counts could not be fetched; gates that use them deny.
	Error string `json:"error,omitempty"`
}

// maxResponseBytes bounds any SonarQube response or evidence file.
const maxResponseBytes = 16 << 20

var statuses = map[string]bool{"OK": true, "WARN": true, "ERROR": true, "NONE": true}

// ParseProjectStatus reads a project_status response as SonarQube returns
// it (`{"projectStatus": {...}}`, the offline form of the evidence) or
// evidence this collector wrote, and checks it is one.
func ParseProjectStatus(data []byte) (*Evidence, error) {
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("project_status response larger than %d MiB", maxResponseBytes>>20)
	}
	var doc struct {
		Evidence
		// Error is what the engine records when collection failed: such a
		// document is no quality gate, and must not pass for a failed one.
		Error *string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a SonarQube project_status response: %w", err)
	}
	if doc.Error != nil {
		return nil, fmt.Errorf("the document records a collection error, not a quality gate: %s", truncate(*doc.Error, 300))
	}
	ev := doc.Evidence
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("not a SonarQube project_status response: trailing data after the JSON object")
	}
	if ev.Schema != "" && ev.Schema != Schema {
		return nil, fmt.Errorf("evidence schema %q, want %q", ev.Schema, Schema)
	}
	if err := ev.ProjectStatus.validate(); err != nil {
		return nil, err
	}
	ev.Schema = Schema
	return &ev, nil
}

func (ps *ProjectStatus) validate() error {
	if ps.Status == "" {
		return fmt.Errorf("not a SonarQube project_status response: no projectStatus.status (want the body of GET api/qualitygates/project_status)")
	}
	if !statuses[ps.Status] {
		return fmt.Errorf("projectStatus.status %q is not one of OK, WARN, ERROR, NONE", ps.Status)
	}
	for i, c := range ps.Conditions {
		if c.MetricKey == "" || c.Status == "" {
			return fmt.Errorf("projectStatus.conditions[%d]: needs metricKey and status", i)
		}
	}
	if ps.Conditions == nil {
		ps.Conditions = []Condition{}
	}
	return nil
}
