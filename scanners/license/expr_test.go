package license

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDNF(t *testing.T) {
	tests := []struct {
		expr    string
		want    [][]string
		wantErr string
	}{
		{expr: "MIT", want: [][]string{{"MIT"}}},
		{expr: "mit", want: [][]string{{"MIT"}}},
		{expr: "apache-2.0", want: [][]string{{"Apache-2.0"}}},
		{expr: "MIT OR Apache-2.0", want: [][]string{{"MIT"}, {"Apache-2.0"}}},
		{expr: "MIT AND Apache-2.0", want: [][]string{{"Apache-2.0", "MIT"}}},
		{expr: "MIT OR (Apache-2.0 AND BSD-3-Clause)", want: [][]string{{"MIT"}, {"Apache-2.0", "BSD-3-Clause"}}},
		{expr: "(MIT OR Apache-2.0) AND BSD-3-Clause", want: [][]string{{"BSD-3-Clause", "MIT"}, {"Apache-2.0", "BSD-3-Clause"}}},
		{expr: "(MIT OR ISC) AND (Apache-2.0 OR Zlib)", want: [][]string{{"Apache-2.0", "MIT"}, {"MIT", "Zlib"}, {"Apache-2.0", "ISC"}, {"ISC", "Zlib"}}},
		{expr: "MIT AND MIT", want: [][]string{{"MIT"}}},
		{expr: "MIT OR MIT", want: [][]string{{"MIT"}}},
		{expr: "MIT and apache-2.0", wantErr: "SPDX operators are upper case"},
		{expr: "GPL-2.0-only WITH Classpath-exception-2.0", want: [][]string{{"GPL-2.0-only WITH Classpath-exception-2.0"}}},
		{expr: "GPL-2.0+", want: [][]string{{"GPL-2.0-or-later"}}},
		{expr: "LGPL-2.1+ OR MIT", want: [][]string{{"LGPL-2.1-or-later"}, {"MIT"}}},
		{expr: "GPL-2.0", want: [][]string{{"GPL-2.0-only"}}},
		{expr: "gpl-2.0-with-classpath-exception", want: [][]string{{"GPL-2.0-only WITH Classpath-exception-2.0"}}},
		{expr: "Apache-2.0+", want: [][]string{{"Apache-2.0+"}}},
		{expr: "LicenseRef-llama3", want: [][]string{{"LicenseRef-llama3"}}},
		{expr: "LicenseRef-Example-EULA AND MIT", want: [][]string{{"LicenseRef-Example-EULA", "MIT"}}},
		{expr: "", wantErr: "empty expression"},
		{expr: "Apache2", wantErr: `"Apache2" is not an SPDX licence id`},
		{expr: "MIT AND", wantErr: "expression ends where a licence was expected"},
		{expr: "MIT AND OR GPL-3.0-only", wantErr: `unexpected "OR" where a licence was expected`},
		{expr: "(MIT", wantErr: "missing closing parenthesis"},
		{expr: "MIT)", wantErr: `unexpected ")" after a complete expression`},
		{expr: "MIT Apache-2.0", wantErr: `unexpected "Apache-2.0" after a complete expression`},
		{expr: "MIT WITH Nope-exception", wantErr: `"Nope-exception" is not an SPDX licence exception`},
		{expr: "MIT/Apache-2.0", wantErr: `unexpected character '/'`},
		{expr: strings.Repeat("(", 40) + "MIT" + strings.Repeat(")", 40), wantErr: "parentheses nested deeper than 32"},
		{expr: strings.Repeat("MIT OR ", 2000) + "MIT", wantErr: "more than the limit of 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := DNF(tt.expr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DNF(%q) error = %v, want it to contain %q", tt.expr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DNF(%q): %v", tt.expr, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DNF(%q) (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}

func TestDNFTooComplex(t *testing.T) {
	// (a OR b) AND (c OR d) AND ... doubles the alternatives each time.
	ids := []string{"MIT", "ISC", "Zlib", "0BSD", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "MPL-2.0", "CC0-1.0", "Unlicense", "PSF-2.0", "BSL-1.0", "X11", "NCSA"}
	var parts []string
	for i := 0; i+1 < len(ids); i += 2 {
		parts = append(parts, "("+ids[i]+" OR "+ids[i+1]+")")
	}
	_, err := DNF(strings.Join(parts, " AND "))
	if !errors.Is(err, ErrTooComplex) {
		t.Fatalf("DNF of 2^7 alternatives: error %v, want ErrTooComplex", err)
	}
}
