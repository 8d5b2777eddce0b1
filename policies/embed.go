// Package policies holds gatehouse's default Rego bundle, one package per
// gate (gatehouse.gates.<gate>) with its _test.rego tests, and the default
// configuration. Both are embedded in the binary.
package policies

import "embed"

// FS holds the default bundle: every .rego file (tests included) and the
// default configuration gatehouse.yaml.
//
//go:embed *.rego gatehouse.yaml
var FS embed.FS
