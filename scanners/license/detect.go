package license

import (
	"fmt"
	"math"
	"strings"

	"github.com/google/licensecheck"
)

// Detected is a licence found in a licence text, or (Reason set) why none
// could be named.
type Detected struct {
	ID         string
	Confidence float64 // licensecheck coverage, 0..1
	Reason     string
}

// Detect matches a licence text with licensecheck. Coverage (the share of
// the text's words that match known licences) is the confidence; below
// minCoverage percent the text is unknown rather than guessed. A text that
// concatenates licences yields one entry per licence. Ids that are not SPDX
// ids (licensecheck knows a few extra texts) become LicenseRef-<id>.
func Detect(text []byte, minCoverage float64) []Detected {
	cov := licensecheck.Scan(text)
	var ids []string
	for _, m := range cov.Match {
		id := licenseRefOr(m.ID)
		if !contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return []Detected{{Reason: "no known licence text found (licensecheck matched nothing)"}}
	}
	if cov.Percent < minCoverage {
		return []Detected{{Reason: fmt.Sprintf("licensecheck matched only %.0f%% of the text (%s), below the %.0f%% needed to name it", cov.Percent, strings.Join(ids, ", "), minCoverage)}}
	}
	conf := math.Round(math.Min(cov.Percent, 100)) / 100
	out := make([]Detected, len(ids))
	for i, id := range ids {
		out[i] = Detected{ID: id, Confidence: conf}
	}
	return out
}

// licenseRefOr returns the SPDX spelling of id, or LicenseRef-<id> when id
// is not an SPDX licence id.
func licenseRefOr(id string) string {
	if c, err := canonicalID(id); err == nil && !hasPrefixFold(c, "LicenseRef-") && !hasPrefixFold(c, "DocumentRef-") {
		return c
	}
	return "LicenseRef-" + sanitizeRef(id)
}

// sanitizeRef keeps the characters SPDX allows in a LicenseRef- id
// (letters, digits, "." and "-"); others become "-".
func sanitizeRef(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
		if b.Len() >= 128 {
			break
		}
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
