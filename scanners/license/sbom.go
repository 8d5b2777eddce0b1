package license

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxComponentDepth bounds nested CycloneDX components.
const maxComponentDepth = 64

// ParseSBOM reads an SPDX 2.x or CycloneDX 1.x JSON SBOM into licence
// evidence. name is used in sources and errors.
func ParseSBOM(name string, data []byte, limits Limits) (Evidence, error) {
	if limits == (Limits{}) {
		limits = DefaultLimits()
	}
	if int64(len(data)) > limits.MaxSBOMBytes {
		return Evidence{}, fmt.Errorf("%s is larger than the limit of %d bytes", name, limits.MaxSBOMBytes)
	}
	s := &scan{opts: Options{Limits: limits}, ev: Evidence{Schema: Schema, Licenses: []License{}, Unknown: []Unknown{}, NotVerified: []NotVerified{}}}
	if err := s.sbom(name, data); err != nil {
		return Evidence{}, err
	}
	s.finish()
	return s.ev, nil
}

func (s *scan) sbom(name string, data []byte) error {
	var head struct {
		SPDXVersion string `json:"spdxVersion"`
		BOMFormat   string `json:"bomFormat"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("not a JSON SBOM: %w", err)
	}
	switch {
	case head.SPDXVersion != "":
		if !strings.HasPrefix(head.SPDXVersion, "SPDX-2.") {
			return fmt.Errorf("spdxVersion %q: only SPDX 2.x JSON is read", head.SPDXVersion)
		}
		return s.spdx(name, data)
	case head.BOMFormat == "CycloneDX":
		return s.cyclonedx(name, data)
	}
	return errors.New(`neither an SPDX JSON document (no "spdxVersion") nor a CycloneDX JSON BOM ("bomFormat" is not "CycloneDX")`)
}

type spdxDoc struct {
	Packages  []spdxPackage `json:"packages"`
	Extracted []struct {
		LicenseID string `json:"licenseId"`
		Name      string `json:"name"`
	} `json:"hasExtractedLicensingInfos"`
}

type spdxPackage struct {
	Name                 string   `json:"name"`
	SPDXID               string   `json:"SPDXID"`
	VersionInfo          string   `json:"versionInfo"`
	LicenseConcluded     string   `json:"licenseConcluded"`
	LicenseDeclared      string   `json:"licenseDeclared"`
	LicenseInfoFromFiles []string `json:"licenseInfoFromFiles"`
}

// spdx reads packages[]: licenseConcluded when it says something, else
// licenseDeclared, else every licenseInfoFromFiles entry; a package with
// none of them (absent, NOASSERTION or NONE) is unknown.
func (s *scan) spdx(name string, data []byte) error {
	var doc spdxDoc
	if err := decodeJSON(data, &doc); err != nil {
		return err
	}
	if len(doc.Packages) > s.opts.Limits.MaxSBOMEntries {
		return fmt.Errorf("packages has %d entries, more than the limit of %d", len(doc.Packages), s.opts.Limits.MaxSBOMEntries)
	}
	refNames := map[string]string{}
	for _, e := range doc.Extracted {
		refNames[strings.ToLower(e.LicenseID)] = e.Name
	}
	for i, p := range doc.Packages {
		label := p.Name
		if p.VersionInfo != "" {
			label += "@" + p.VersionInfo
		}
		if label == "" {
			label = p.SPDXID
		}
		src := fmt.Sprintf("%s packages[%d] (%s)", name, i, label)
		switch {
		case says(p.LicenseConcluded):
			s.sbomExpr(name, src+": licenseConcluded", p.LicenseConcluded, KindConcluded, refNames)
		case says(p.LicenseDeclared):
			s.sbomExpr(name, src+": licenseDeclared", p.LicenseDeclared, KindDeclared, refNames)
		default:
			n := 0
			for j, v := range p.LicenseInfoFromFiles {
				if says(v) {
					s.sbomExpr(name, fmt.Sprintf("%s: licenseInfoFromFiles[%d]", src, j), v, KindDetected, refNames)
					n++
				}
			}
			if n == 0 {
				reason := "no licence: licenseConcluded and licenseDeclared are absent or NOASSERTION"
				if strings.EqualFold(strings.TrimSpace(p.LicenseDeclared), "NONE") {
					reason = "licenseDeclared is NONE: the package grants no licence"
				}
				s.unknown(src, name, reason)
			}
		}
	}
	return nil
}

// says reports whether an SPDX licence field names a licence.
func says(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && !strings.EqualFold(v, "NOASSERTION") && !strings.EqualFold(v, "NONE")
}

func (s *scan) sbomExpr(file, src, expr, kind string, refNames map[string]string) {
	l, reason := s.single(expr)
	if reason != "" {
		s.unknown(src, file, reason)
		return
	}
	l.Source, l.File, l.Kind, l.Confidence = src, file, kind, 1
	if l.ID != "" {
		l.Name = refNames[strings.ToLower(l.ID)]
	}
	s.add(l)
}

type cdxDoc struct {
	Metadata *struct {
		Component *cdxComponent `json:"component"`
	} `json:"metadata"`
	Components []cdxComponent `json:"components"`
}

type cdxComponent struct {
	Type     string       `json:"type"`
	Name     string       `json:"name"`
	Version  string       `json:"version"`
	Licenses []cdxLicense `json:"licenses"`
	Evidence *struct {
		Licenses []cdxLicense `json:"licenses"`
	} `json:"evidence"`
	Components []cdxComponent  `json:"components"`
	ModelCard  json.RawMessage `json:"modelCard"`
}

type cdxLicense struct {
	License *struct {
		ID              string `json:"id"`
		Name            string `json:"name"`
		Acknowledgement string `json:"acknowledgement"`
	} `json:"license"`
	Expression      string `json:"expression"`
	Acknowledgement string `json:"acknowledgement"`
}

// cyclonedx reads components[].licenses (declared, or concluded when the
// entry's acknowledgement says so) and components[].evidence.licenses
// (what a tool found in the component's files: detected, as CycloneDX
// says for unasserted findings; cyclonedx-gomod -licenses writes these),
// nested components too, and metadata.component's when present. A
// component with neither is unknown; metadata.component (the SBOM's own
// subject) is skipped when it has none.
func (s *scan) cyclonedx(name string, data []byte) error {
	var doc cdxDoc
	if err := decodeJSON(data, &doc); err != nil {
		return err
	}
	count := 0
	if doc.Metadata != nil && doc.Metadata.Component != nil && len(doc.Metadata.Component.Licenses) > 0 {
		c := *doc.Metadata.Component
		c.Components = nil
		if err := s.cdxComponents(name, "metadata.component", []cdxComponent{c}, 0, &count); err != nil {
			return err
		}
	}
	return s.cdxComponents(name, "components", doc.Components, 0, &count)
}

func (s *scan) cdxComponents(name, path string, cs []cdxComponent, depth int, count *int) error {
	if depth > maxComponentDepth {
		return fmt.Errorf("%s: components nested deeper than %d", path, maxComponentDepth)
	}
	for i, c := range cs {
		*count++
		if *count > s.opts.Limits.MaxSBOMEntries {
			return fmt.Errorf("more than %d components, the limit", s.opts.Limits.MaxSBOMEntries)
		}
		p := path
		if path != "metadata.component" {
			p = fmt.Sprintf("%s[%d]", path, i)
		}
		label := c.Name
		if c.Version != "" {
			label += "@" + c.Version
		}
		src := fmt.Sprintf("%s %s (%s)", name, p, label)
		var evidence []cdxLicense
		if c.Evidence != nil {
			evidence = c.Evidence.Licenses
		}
		if len(c.Licenses) == 0 && len(evidence) == 0 {
			s.unknown(src, name, "component has no licenses and no evidence.licenses")
		}
		s.cdxLicenses(name, src+": licenses", c.Licenses, KindDeclared)
		s.cdxLicenses(name, src+": evidence.licenses", evidence, KindDetected)
		if err := s.cdxComponents(name, p+".components", c.Components, depth+1, count); err != nil {
			return err
		}
	}
	return nil
}

// cdxLicenses reads one licences list of a component: field names it in
// sources; defKind is the kind of an entry whose acknowledgement does not
// say "concluded".
func (s *scan) cdxLicenses(name, field string, ls []cdxLicense, defKind string) {
	for j, l := range ls {
		lsrc := fmt.Sprintf("%s[%d]", field, j)
		kind := defKind
		ack := l.Acknowledgement
		if l.License != nil && l.License.Acknowledgement != "" {
			ack = l.License.Acknowledgement
		}
		if ack == "concluded" {
			kind = KindConcluded
		}
		switch {
		case l.Expression != "":
			s.sbomExpr(name, lsrc+".expression", l.Expression, kind, nil)
		case l.License != nil && l.License.ID != "":
			s.sbomExpr(name, lsrc+".license.id", l.License.ID, kind, nil)
		case l.License != nil && l.License.Name != "":
			nm := strings.TrimSpace(l.License.Name)
			if lic, reason := s.single(nm); reason == "" {
				lic.Source, lic.File, lic.Kind, lic.Confidence = lsrc+".license.name", name, kind, 1
				s.add(lic)
				continue
			}
			ref := "LicenseRef-" + sanitizeRef(nm)
			s.add(License{ID: ref, AnyOf: [][]string{{ref}}, Name: truncate(nm, 200), Source: lsrc + ".license.name", File: name, Confidence: 1, Kind: kind})
		default:
			s.unknown(lsrc, name, "licence entry has neither expression, license.id nor license.name")
		}
	}
}

// decodeJSON decodes one JSON value and rejects trailing data; type errors
// name the field at fault.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("field %s: want %s, found JSON %s", te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return errors.New("invalid JSON: data after the document")
	}
	return nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// decodeJSONPrefix decodes a JSON document without the trailing-data check
// (for peeking at a field).
func decodeJSONPrefix(data []byte, v any) error {
	return json.Unmarshal(data, v)
}
