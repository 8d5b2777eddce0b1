package score

import (
	"regexp"
	"strings"
)

// Literal secrets. A Score spec should take credentials from resource
// outputs (${resources.db.password}); a value written into the spec is in
// the repository and in every generated manifest. Two signs, never the
// value itself in the report:
//   - a secret-looking name (PASSWORD, TOKEN, SECRET, API_KEY,
//     PRIVATE_KEY, ACCESS_KEY, CREDENTIAL…) holding a non-empty value with
//     no ${…} placeholder: names ending in a reference word (…_FILE,
//     …_PATH, …_URL, …_NAME, …_ID…) name where a secret lives, not a
//     secret, and are left alone;
//   - a value in a known credential format, whatever the name: AWS access
//     key ids, GitHub tokens, Slack tokens, PEM private key headers, JWTs,
//     and URLs with a literal password (scheme://user:pass@host).

// secretWords are matched against a name's words (split on anything
// that is not a letter or digit, upper-cased), and the joined pairs.
var secretWords = map[string]bool{
	"PASSWORD": true, "PASSWD": true, "PASSPHRASE": true, "TOKEN": true, "SECRET": true,
	"APIKEY": true, "API_KEY": true, "PRIVATE_KEY": true, "PRIVATEKEY": true,
	"ACCESS_KEY": true, "SECRET_KEY": true, "CREDENTIAL": true, "CREDENTIALS": true,
	"CLIENT_SECRET": true, "AUTH_TOKEN": true, "SECRETKEY": true, "ACCESSKEY": true,
}

// referenceWords end names that point at a secret rather than hold one.
var referenceWords = map[string]bool{
	"FILE": true, "PATH": true, "DIR": true, "URL": true, "URI": true, "ENDPOINT": true,
	"HOST": true, "PORT": true, "NAME": true, "ID": true, "REF": true, "TTL": true,
	"TIMEOUT": true, "EXPIRY": true, "EXPIRES": true, "LENGTH": true, "LEN": true,
	"SIZE": true, "ENABLED": true, "ENABLE": true, "DISABLED": true, "HEADER": true,
	"TYPE": true, "FORMAT": true, "VERSION": true,
}

var (
	nameSplit = regexp.MustCompile(`[^A-Za-z0-9]+`)
	camel     = regexp.MustCompile(`([a-z0-9])([A-Z])`)
)

// secretName reports whether a variable or config key names a secret.
func secretName(name string) bool {
	words := nameSplit.Split(strings.ToUpper(camel.ReplaceAllString(name, "${1}_${2}")), -1)
	var ws []string
	for _, w := range words {
		if w != "" {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 || referenceWords[ws[len(ws)-1]] {
		return false
	}
	for i, w := range ws {
		if secretWords[w] || (i > 0 && secretWords[ws[i-1]+"_"+w]) {
			return true
		}
	}
	return false
}

// formats are credential formats recognised in any value or content.
var formats = []struct {
	why string
	re  *regexp.Regexp
}{
	{"an AWS access key id", regexp.MustCompile(`\b(AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b`)},
	{"a GitHub token", regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b`)},
	{"a Slack token", regexp.MustCompile(`\bxox[abposr]-[0-9A-Za-z-]{10,}`)},
	{"a PEM private key", regexp.MustCompile(`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----`)},
	{"a JSON Web Token", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)},
	{"a URL with a literal password", regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@$]+@`)},
}

// formatSecrets names the credential formats found in s.
func formatSecrets(s string) []string {
	var out []string
	for _, f := range formats {
		if f.re.MatchString(s) {
			out = append(out, "holds "+f.why)
		}
	}
	return out
}

// literal is s with its ${…} placeholders and $$ escapes removed.
func literal(s string) (string, bool) {
	s = strings.ReplaceAll(s, "$$", "")
	stripped := placeholder.ReplaceAllString(s, "")
	return stripped, stripped != s
}

// variableSecret says why a variable holds a literal secret, or "".
func variableSecret(name, value string) string {
	lit, hasPlaceholder := literal(value)
	if why := formatSecrets(lit); len(why) > 0 {
		return why[0]
	}
	if !hasPlaceholder && !trivial(value) && secretName(name) {
		return "a literal value under a secret-looking name (want a ${resources.…} placeholder)"
	}
	return ""
}

// assignment is a "key: value" or "key=value" line of a config file.
var assignment = regexp.MustCompile(`^\s*(?:export\s+)?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*[:=]\s*(.*?)\s*[,;]?\s*$`)

// contentSecrets says why a file's content holds literal secrets: known
// credential formats, and "key: value" / "key=value" lines whose key names
// a secret and whose value is literal (no ${…}, $VAR or {{…}} reference).
func contentSecrets(content string) []string {
	lit, _ := literal(content)
	out := formatSecrets(lit)
	seen := map[string]bool{}
	for line := range strings.Lines(content) {
		m := assignment.FindStringSubmatch(line)
		if m == nil || !secretName(m[1]) {
			continue
		}
		v := strings.Trim(m[2], `"'`)
		if trivial(v) || strings.HasPrefix(v, "$") || strings.Contains(v, "${") || strings.Contains(v, "{{") {
			continue
		}
		why := "a literal value under the secret-looking key " + m[1]
		if len(m[1]) > 64 {
			why = "a literal value under a secret-looking key"
		}
		if !seen[why] {
			seen[why] = true
			out = append(out, why)
		}
		if len(seen) >= 10 {
			break
		}
	}
	return out
}

// trivial values are no secrets: empty, null, booleans and mappings or
// lists opened on the next lines.
func trivial(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "null", "~", "true", "false", "yes", "no", "on", "off", "{", "[", "|", ">", "|-", ">-":
		return true
	}
	return false
}
