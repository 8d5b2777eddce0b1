// Package bearer reads the tokens files that open gatehouse's HTTP APIs
// (the audit pages, the decision API) and checks a request's token. Only
// each token's SHA-256 is kept and compared, in constant time.
package bearer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// Limits on a tokens file.
const (
	MaxFileBytes   = 1 << 20
	MaxTokens      = 10000
	MinTokenLength = 16
)

// Identity is who a token belongs to.
type Identity struct {
	Name string
	Role string
}

// Tokens are the bearer tokens a file allows.
type Tokens struct {
	entries []entry
}

type entry struct {
	sum [sha256.Size]byte
	id  Identity
}

// Load reads a tokens file: one token a line, "TOKEN ROLE NAME" (NAME is
// the rest of the line), blank lines and "#" comments ignored; ROLE must
// be one of roles. Errors name the file and line, never a token.
func Load(path string, roles ...string) (*Tokens, error) {
	data, err := readlimit.File(path, MaxFileBytes)
	if err != nil {
		return nil, err
	}
	t, err := Parse(data, roles...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse parses the tokens file format (see Load).
func Parse(data []byte, roles ...string) (*Tokens, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("more than %d bytes", MaxFileBytes)
	}
	t := &Tokens{}
	seen := map[[sha256.Size]byte]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxFileBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			return nil, fmt.Errorf("line %d: want TOKEN ROLE NAME, got %d fields", n, len(fields))
		}
		tok, role := fields[0], fields[1]
		if len(tok) < MinTokenLength {
			return nil, fmt.Errorf("line %d: token shorter than %d characters; generate one with: openssl rand -hex 32", n, MinTokenLength)
		}
		for _, r := range tok {
			if r > unicode.MaxASCII || !unicode.IsPrint(r) {
				return nil, fmt.Errorf("line %d: token must be printable ASCII", n)
			}
		}
		if !slices.Contains(roles, role) {
			return nil, fmt.Errorf("line %d: role %q: want %s", n, Clip(role), strings.Join(roles, " or "))
		}
		// The name is the rest of the line after the role, spaces kept.
		rest := strings.TrimLeftFunc(line[len(tok):], unicode.IsSpace)
		name := strings.TrimSpace(rest[len(role):])
		if !printable(name) {
			return nil, fmt.Errorf("line %d: name has control characters", n)
		}
		sum := sha256.Sum256([]byte(tok))
		if prev, ok := seen[sum]; ok {
			return nil, fmt.Errorf("line %d: same token as line %d", n, prev)
		}
		seen[sum] = n
		if len(t.entries) == MaxTokens {
			return nil, fmt.Errorf("more than %d tokens", MaxTokens)
		}
		t.entries = append(t.entries, entry{sum: sum, id: Identity{Name: name, Role: role}})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.entries) == 0 {
		return nil, errors.New("no tokens (want lines TOKEN ROLE NAME)")
	}
	return t, nil
}

// Lookup returns the identity of tok. It compares against every entry in
// constant time, so neither a token's prefix nor its position in the file
// shows in the time taken.
func (t *Tokens) Lookup(tok string) (Identity, bool) {
	if t == nil || tok == "" {
		return Identity{}, false
	}
	sum := sha256.Sum256([]byte(tok))
	var found Identity
	ok := 0
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
			found, ok = e.id, 1
		}
	}
	return found, ok == 1
}

// FromHeader returns the token of an "Authorization: Bearer TOKEN" header.
func FromHeader(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// Clip shortens what a request or file sent before it goes into an error.
func Clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Identities lists who the tokens belong to, in file order.
func (t *Tokens) Identities() []Identity {
	out := make([]Identity, len(t.entries))
	for i, e := range t.entries {
		out[i] = e.id
	}
	return out
}
