package license

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FrontMatter returns the YAML front matter of a Markdown file (a Hugging
// Face card): the mapping between a first line "---" and the next line
// "---". ok is false when the file has none. A front matter that is not
// closed, larger than max bytes, or not a YAML mapping is an error.
func FrontMatter(data []byte, max int) (fm map[string]any, ok bool, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first, rest, _ := bytes.Cut(data, []byte("\n"))
	if string(bytes.TrimRight(first, " \t\r")) != "---" {
		return nil, false, nil
	}
	end := -1
	for off := 0; off < len(rest); {
		line, _, _ := bytes.Cut(rest[off:], []byte("\n"))
		if t := string(bytes.TrimRight(line, " \t\r")); t == "---" || t == "..." {
			end = off
			break
		}
		if off > max {
			return nil, true, fmt.Errorf("front matter is larger than the limit of %d bytes", max)
		}
		off += len(line) + 1
	}
	if end < 0 {
		return nil, true, errors.New("front matter starts with --- but has no closing --- line")
	}
	if end > max {
		return nil, true, fmt.Errorf("front matter is larger than the limit of %d bytes", max)
	}
	var v any
	if err := yaml.Unmarshal(rest[:end], &v); err != nil {
		return nil, true, fmt.Errorf("front matter is not valid YAML: %w", err)
	}
	if v == nil {
		return map[string]any{}, true, nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return nil, true, fmt.Errorf("front matter must be a YAML mapping, not %T", v)
	}
	return m, true, nil
}

// CardStatement is one licence named in a card's front matter, or (Reason
// set) why it could not be named.
type CardStatement struct {
	Field   string // "license", "license_name", ...
	License License
	Reason  string
}

// hubToSPDX maps Hugging Face hub ids that are not SPDX ids as written.
// The hub's GNU ids name a version without "only"/"or-later": they are
// read as the -only licence, as the deprecated SPDX ids were.
var hubToSPDX = map[string]string{
	"agpl-3.0": "AGPL-3.0-only",
	"gpl-2.0":  "GPL-2.0-only",
	"gpl-3.0":  "GPL-3.0-only",
	"lgpl-2.1": "LGPL-2.1-only",
	"lgpl-3.0": "LGPL-3.0-only",
}

// hubRefs are the hub's licence ids that are not SPDX licences; each maps
// to LicenseRef-<id> ("openrail++" to LicenseRef-openrail-pp, as "+" is not
// allowed in a LicenseRef).
var hubRefs = map[string]string{
	"openrail": "", "openrail++": "LicenseRef-openrail-pp", "bigscience-openrail-m": "",
	"creativeml-openrail-m": "", "bigscience-bloom-rail-1.0": "", "bigcode-openrail-m": "",
	"llama2": "", "llama3": "", "llama3.1": "", "llama3.2": "", "llama3.3": "", "llama4": "",
	"gemma": "", "deepfloyd-if-license": "", "fair-noncommercial-research-license": "",
	"grok2-community": "", "apple-ascl": "", "apple-amlr": "", "h-research": "",
	"intel-research": "", "openmdw-1.0": "", "openmdw-1.1": "", "c-uda": "", "lgpl-lr": "",
}

// hubFamilies name a family of licences, not one: never guessed.
var hubFamilies = map[string]bool{"bsd": true, "cc": true, "gpl": true, "lgpl": true, "gfdl": true, "odc-by": true, "odbl": true}

// HubID maps one Hugging Face `license:` value to a licence statement, or
// returns the reason it names none. "other" is handled by CardLicenses.
func HubID(v string) (License, string) {
	id := strings.ToLower(strings.TrimSpace(v))
	switch {
	case id == "":
		return License{}, "license is empty"
	case id == "unknown":
		return License{}, "the card says the licence is unknown"
	case id == "other":
		return License{}, "license: other without license_name: name the licence in license_name (and license_link)"
	case hubFamilies[id]:
		return License{}, fmt.Sprintf("%q names a family of licences, not one licence: use a precise id such as bsd-3-clause or cc-by-4.0", v)
	}
	if s, ok := hubToSPDX[id]; ok {
		return License{ID: s, AnyOf: [][]string{{s}}, Confidence: 1, Kind: KindDeclared}, ""
	}
	if ref, ok := hubRefs[id]; ok {
		if ref == "" {
			ref = "LicenseRef-" + id
		}
		return License{ID: ref, AnyOf: [][]string{{ref}}, Confidence: 1, Kind: KindDeclared}, ""
	}
	l, reason := single(v)
	if reason != "" {
		return License{}, fmt.Sprintf("%q is neither an SPDX licence id or expression nor a Hugging Face licence id", v)
	}
	l.Confidence, l.Kind = 1, KindDeclared
	return l, ""
}

// CardLicenses reads license (a string or a list), license_name,
// license_link and the legacy license_details from a card's front matter.
// A card with no license field yields nothing.
func CardLicenses(fm map[string]any) []CardStatement {
	raw, ok := fm["license"]
	if !ok || raw == nil {
		return nil
	}
	var values []string
	switch v := raw.(type) {
	case string:
		values = []string{v}
	case []any:
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return []CardStatement{{Field: "license", Reason: fmt.Sprintf("license[%d] must be a string, not %T", i, e)}}
			}
			values = append(values, s)
		}
		if len(values) == 0 {
			return []CardStatement{{Field: "license", Reason: "license is an empty list"}}
		}
	default:
		return []CardStatement{{Field: "license", Reason: fmt.Sprintf("license must be a string or a list of strings, not %T", raw)}}
	}
	name, _ := fm["license_name"].(string)
	link, _ := fm["license_link"].(string)
	details, _ := fm["license_details"].(string)
	var out []CardStatement
	for _, v := range values {
		if strings.EqualFold(strings.TrimSpace(v), "other") {
			out = append(out, other(name, link, details))
			continue
		}
		l, reason := HubID(v)
		l.Link = link
		out = append(out, CardStatement{Field: "license", License: l, Reason: reason})
	}
	return out
}

// other maps `license: other` with license_name (or the legacy
// license_details) to LicenseRef-<name>.
func other(name, link, details string) CardStatement {
	name, details = strings.TrimSpace(name), strings.TrimSpace(details)
	field, label := "license_name", name
	if name == "" {
		field, label = "license_details", details
	}
	if label == "" {
		_, reason := HubID("other")
		return CardStatement{Field: "license", Reason: reason}
	}
	ref := "LicenseRef-" + sanitizeRef(strings.ToLower(label))
	if r, ok := hubRefs[strings.ToLower(label)]; ok && r != "" {
		ref = r
	}
	if len(ref) > 76 { // keep ids short: a long license_details is prose
		ref = strings.TrimRight(ref[:76], "-")
	}
	label = truncate(label, 200)
	return CardStatement{Field: field, License: License{ID: ref, AnyOf: [][]string{{ref}}, Name: label, Link: link, Confidence: 1, Kind: KindDeclared}}
}
