package audit

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/net/html"
)

// chromium finds the browser: GATEHOUSE_CHROMIUM (scripts/test-env.sh),
// else chromium on PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not found (set GATEHOUSE_CHROMIUM or run scripts/test-setup.sh, which installs Debian's chromium): skipping the browser test")
	}
	return p
}

// page is what headless Chromium rendered: the DOM after load.
type page struct {
	t    *testing.T
	url  string
	root *html.Node
}

// browse loads url in a fresh headless Chromium and returns its DOM.
func browse(t *testing.T, bin, url string) *page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless=new", "--disable-gpu", "--no-sandbox", "--ignore-certificate-errors",
		"--no-first-run", "--disable-extensions", "--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	root, err := html.Parse(&stdout)
	if err != nil {
		t.Fatalf("parse the DOM of %s: %v", url, err)
	}
	return &page{t: t, url: url, root: root}
}

// text is the text a person reads in n: text nodes joined, whitespace
// collapsed, without style or script.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "script" || n.Data == "head") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, match); f != nil {
			return f
		}
	}
	return nil
}

// byID is the text of the element with id; the test fails without one.
func (p *page) byID(id string) string {
	p.t.Helper()
	n := find(p.root, func(n *html.Node) bool {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == id {
				return true
			}
		}
		return false
	})
	if n == nil {
		p.t.Fatalf("%s: no element #%s; the page reads: %s", p.url, id, text(p.root))
	}
	return text(n)
}

// rowWith is the text of the table row that contains s.
func (p *page) rowWith(tableID, s string) string {
	p.t.Helper()
	table := find(p.root, func(n *html.Node) bool {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == tableID {
				return true
			}
		}
		return false
	})
	if table == nil {
		p.t.Fatalf("%s: no table #%s; the page reads: %s", p.url, tableID, text(p.root))
	}
	row := find(table, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "tr" && strings.Contains(text(n), s)
	})
	if row == nil {
		p.t.Fatalf("%s: no row with %q in #%s: %s", p.url, s, tableID, text(table))
	}
	return text(row)
}

func (p *page) wantText(id string, wants ...string) {
	p.t.Helper()
	got := p.byID(id)
	for _, w := range wants {
		if !strings.Contains(got, w) {
			p.t.Errorf("%s #%s reads %q; want it to say %q", p.url, id, got, w)
		}
	}
}

// TestBrowser drives the pages in headless Chromium over TLS and checks
// what a compliance officer sees.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "audit.db")
	store, err := Open(context.Background(), "sqlite:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	fillStore(t, store)
	v, pub := checkpoint(t, store)
	// A fresh verification on every page, so the tampering shows at once.
	h := Handler(HandlerOptions{Store: store, Tokens: testTokens(t), VerifyTTL: time.Nanosecond,
		Verifiers: []signature.Verifier{v}, PublicKey: pub})
	// Chromium cannot be handed a header on its command line; this server
	// signs every request in as the auditor (the sign-in itself is
	// covered by TestSignIn), the other serves the handler as it is.
	signedIn := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+auditorToken)
		h.ServeHTTP(w, r)
	}))
	defer signedIn.Close()
	anonymous := httptest.NewTLSServer(h)
	defer anonymous.Close()

	t.Run("without a token, the sign-in page", func(t *testing.T) {
		p := browse(t, bin, anonymous.URL+"/audit/?verdict=denied")
		if body := text(p.root); !strings.Contains(body, "Sign in") || !strings.Contains(body, "Audit token") || strings.Contains(body, "fraud-v3") {
			t.Errorf("without a token the page reads: %s", body)
		}
		p.wantText("error", "a token is required")
	})

	t.Run("the list shows the denied artifact and its rule", func(t *testing.T) {
		p := browse(t, bin, signedIn.URL+"/audit/")
		row := p.rowWith("decisions", "fraud-v3")
		for _, w := range []string{"denied", "model_scan / unsafe_pickle", "prod"} {
			if !strings.Contains(row, w) {
				t.Errorf("row of fraud-v3 reads %q; want %q", row, w)
			}
		}
		p.wantText("chain-status", "Chain verified", "all 4 entries are intact", "1 signed checkpoints check out")
		if row := p.rowWith("decisions", "customers"); !strings.Contains(row, "allowed") || !strings.Contains(row, "by Jo Privacy-Officer") {
			t.Errorf("row of the waived dataset reads %q", row)
		}
		if body := text(p.root); !strings.Contains(body, hostileName) {
			t.Errorf("the hostile name is not shown as text: %s", body)
		}
		// Filtered: only denied decisions.
		p = browse(t, bin, signedIn.URL+"/audit/?verdict=denied&subject=&gate=")
		if got := p.byID("decisions"); strings.Contains(got, "customers") || !strings.Contains(got, "fraud-v3") {
			t.Errorf("denied only: %s", got)
		}
	})

	t.Run("the detail page shows the violation and the waiver's approver", func(t *testing.T) {
		p := browse(t, bin, signedIn.URL+"/audit/decisions/2")
		if row := p.rowWith("violations", "unsafe_pickle"); !strings.Contains(row, "model.pkl imports os.system when loaded") || !strings.Contains(row, "critical") {
			t.Errorf("violation row reads %q", row)
		}
		p.wantText("evidence", "model_scan", "sha256:"+strings.Repeat("f", 64))
		p = browse(t, bin, signedIn.URL+"/audit/decisions/3")
		if row := p.rowWith("waivers", "email_column"); !strings.Contains(row, "Jo Privacy-Officer") || !strings.Contains(row, "pseudonymised upstream") || !strings.Contains(row, "PRIV-42") {
			t.Errorf("waiver row reads %q", row)
		}
	})

	t.Run("after tampering, the status names the first bad entry", func(t *testing.T) {
		tamper(t, dbPath, 2, "os.system", "os.getcwd")
		p := browse(t, bin, signedIn.URL+"/audit/status")
		p.wantText("chain-status", "Chain BROKEN", "first bad entry is #2")
		p = browse(t, bin, signedIn.URL+"/audit/")
		p.wantText("chain-status", "Chain BROKEN", "#2")
	})
}

// tamper edits entry seq's stored record behind the store's back, as
// someone with write access to the database file could.
func tamper(t *testing.T, dbPath string, seq int64, old, new string) {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var body []byte
	if err := db.QueryRow(`SELECT body FROM audit_entries WHERE seq = ?`, seq).Scan(&body); err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(body, []byte(old), []byte(new), 1)
	if bytes.Equal(edited, body) {
		t.Fatalf("entry %d has no %q to change", seq, old)
	}
	if _, err := db.Exec(`UPDATE audit_entries SET body = ? WHERE seq = ?`, edited, seq); err != nil {
		t.Fatal(err)
	}
}
