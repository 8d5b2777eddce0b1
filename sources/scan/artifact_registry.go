package scan

import "time"

// ArtifactRegistry is what Google Artifact Registry says about the version
// of a pinned digest (Source.ArtifactRegistry): its tags, when it was
// created and last updated, and its annotations. It is metadata recorded
// next to the tree's identity; the verdict never depends on it.
type ArtifactRegistry struct {
	// Package is the package's resource name,
	// projects/P/locations/L/repositories/R/packages/NAME.
	Package string `json:"package"`
	// Version is the version's resource name (…/versions/sha256:…).
	Version     string            `json:"version"`
	Tags        []string          `json:"tags"`
	CreateTime  time.Time         `json:"create_time,omitzero"`
	UpdateTime  time.Time         `json:"update_time,omitzero"`
	Annotations map[string]string `json:"annotations,omitempty"`
}
