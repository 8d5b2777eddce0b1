package audit

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed web/*.html web/style.css
var webFS embed.FS

// pages renders the compliance officer's pages: html/template escapes
// every string from the log; the style is inline, there is no script.
type pages struct {
	t *template.Template
}

func newPages() *pages {
	css, err := webFS.ReadFile("web/style.css")
	if err != nil {
		panic(err) // embedded at build time: a missing file is a build error
	}
	funcs := template.FuncMap{
		"css":  func() template.CSS { return template.CSS(css) },
		"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(time.DateOnly)
		},
		"short": func(s string) string {
			// "sha256:0123456789ab…": enough to tell digests apart.
			if i := strings.IndexByte(s, ':'); i >= 0 && len(s) > i+13 {
				return s[:i+13] + "…"
			}
			if len(s) > 16 {
				return s[:16] + "…"
			}
			return s
		},
		"prev":  func(n int64) int64 { return n - 1 },
		"next":  func(n int64) int64 { return n + 1 },
		"keys":  sortedKeys,
		"join":  strings.Join,
		"lower": strings.ToLower,
		"verdictClass": func(v string) string {
			return strings.ReplaceAll(v, " ", "-")
		},
	}
	return &pages{t: template.Must(template.New("").Funcs(funcs).ParseFS(webFS, "web/*.html"))}
}

// pageData is what every page gets.
type pageData struct {
	Title string
	Who   *Identity
	Chain *ChainStatus
	Error string
	// One of these, by page.
	Search   *searchData
	Decision *Entry
}

type searchData struct {
	Form      map[string]string
	Verdicts  []string
	Entries   []Entry
	Next      string // URL of the next page, "" on the last
	CSV, JSON string // the same search from the API
	ReportURL string
}

// render executes a template into a buffer first, so a template error is
// a clean 500, not half a page.
func (p *pages) render(w http.ResponseWriter, code int, name string, d pageData) {
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, name, d); err != nil {
		http.Error(w, "gatehouse audit: page could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (p *pages) login(w http.ResponseWriter, r *http.Request, code int, why string) {
	p.render(w, code, "login.html", pageData{Title: "Sign in", Error: why})
}

func (p *pages) errorPage(w http.ResponseWriter, r *http.Request, who *Identity, code int, msg string) {
	p.render(w, code, "error.html", pageData{Title: http.StatusText(code), Who: who, Error: msg})
}

func (s *server) routePages(mux *http.ServeMux) {
	auditor := func(h http.HandlerFunc) http.Handler { return s.require(RoleAuditor, h) }
	mux.Handle("GET /audit/{$}", auditor(s.searchPage))
	mux.Handle("GET /audit/decisions/{seq}", auditor(s.decisionPage))
	mux.Handle("GET /audit/status", auditor(s.statusPage))
	mux.Handle("POST /audit/status", s.require(RoleAdmin, s.reverify))
	mux.HandleFunc("GET /audit/login", func(w http.ResponseWriter, r *http.Request) {
		s.pages.login(w, r, http.StatusOK, "")
	})
	mux.HandleFunc("POST /audit/login", s.signIn)
	mux.HandleFunc("POST /audit/logout", s.signOut)
	mux.Handle("/audit/", auditor(func(w http.ResponseWriter, r *http.Request) {
		s.pages.errorPage(w, r, identityOf(r), http.StatusNotFound, "There is no page "+r.URL.Path+".")
	}))
}

// signIn checks the token typed into the form and keeps it in a cookie
// that only this site's /audit/ pages get, over HTTPS, never to scripts.
func (s *server) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBytes)
	if err := r.ParseForm(); err != nil {
		s.pages.login(w, r, http.StatusBadRequest, "The sign-in form could not be read.")
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	id, ok := s.o.Tokens.Lookup(tok)
	if !ok {
		s.pages.login(w, r, http.StatusUnauthorized, "That token is not valid (unknown or withdrawn). Ask your gatehouse administrator for one.")
		return
	}
	if slot, ok := r.Context().Value(identityKey{}).(*identitySlot); ok {
		slot.id = &id
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/audit/", MaxAge: 8 * 3600,
		HttpOnly: true, Secure: !s.o.AllowPlainHTTP || r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/audit/", http.StatusSeeOther)
}

func (s *server) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/audit/", MaxAge: -1,
		HttpOnly: true, Secure: !s.o.AllowPlainHTTP || r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/audit/login", http.StatusSeeOther)
}

// searchFields are the search form's fields, in the order shown.
var searchFields = []string{"from", "to", "subject", "digest", "kind", "environment", "namespace", "gate", "rule",
	"verdict", "waiver", "policy_digest"}

func (s *server) searchPage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	// A submitted form sends every field; empty ones mean "any".
	for k, vs := range v {
		if len(vs) == 1 && strings.TrimSpace(vs[0]) == "" {
			delete(v, k)
		}
	}
	chain := s.chain.get(r.Context(), false)
	d := pageData{Title: "Decisions", Who: identityOf(r), Chain: &chain, Search: &searchData{Form: map[string]string{}, Verdicts: verdicts}}
	for _, f := range append(searchFields, "limit") {
		d.Search.Form[f] = v.Get(f)
	}
	q, err := ParseQuery(v)
	if err == nil && v.Get("format") != "" {
		err = errors.New("format: the page shows a table; use the CSV or JSON links")
	}
	if err != nil {
		d.Error = err.Error()
		s.pages.render(w, http.StatusBadRequest, "search.html", d)
		return
	}
	entries, next, err := s.o.Store.Query(r.Context(), q)
	if errors.Is(err, ErrBadQuery) {
		d.Error = err.Error()
		s.pages.render(w, http.StatusBadRequest, "search.html", d)
		return
	}
	if err != nil {
		s.log.Error("audit store", "path", r.URL.Path, "err", err.Error())
		d.Error = "The audit store could not answer: " + err.Error()
		s.pages.render(w, http.StatusServiceUnavailable, "search.html", d)
		return
	}
	d.Search.Entries = entries
	api := cloneValues(v)
	api.Del("page_token")
	api.Set("format", "csv")
	d.Search.CSV = "/audit/api/decisions?" + api.Encode()
	api.Set("format", "json")
	d.Search.JSON = "/audit/api/decisions?" + api.Encode()
	if next != "" {
		nv := cloneValues(v)
		nv.Set("page_token", next)
		d.Search.Next = "/audit/?" + nv.Encode()
	}
	rv := url.Values{}
	if f := v.Get("from"); f != "" {
		rv.Set("from", f)
	}
	if t := v.Get("to"); t != "" {
		rv.Set("to", t)
	}
	d.Search.ReportURL = "/audit/api/report?" + rv.Encode()
	s.pages.render(w, http.StatusOK, "search.html", d)
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

func (s *server) decisionPage(w http.ResponseWriter, r *http.Request) {
	e, err := s.entry(r.Context(), r.PathValue("seq"))
	switch {
	case errors.Is(err, errNoEntry):
		s.pages.errorPage(w, r, identityOf(r), http.StatusNotFound, "There is no "+err.Error()+" in the log.")
		return
	case err != nil && strings.HasPrefix(err.Error(), "decision "):
		s.pages.errorPage(w, r, identityOf(r), http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.log.Error("audit store", "path", r.URL.Path, "err", err.Error())
		s.pages.errorPage(w, r, identityOf(r), http.StatusServiceUnavailable, "The audit store could not answer: "+err.Error())
		return
	}
	chain := s.chain.get(r.Context(), false)
	s.pages.render(w, http.StatusOK, "decision.html", pageData{Title: "Decision " + r.PathValue("seq"), Who: identityOf(r), Chain: &chain, Decision: &e})
}

func (s *server) statusPage(w http.ResponseWriter, r *http.Request) {
	chain := s.chain.get(r.Context(), false)
	s.pages.render(w, http.StatusOK, "status.html", pageData{Title: "Chain status", Who: identityOf(r), Chain: &chain})
}

// reverify runs a fresh verification (admin: it reads the whole log).
func (s *server) reverify(w http.ResponseWriter, r *http.Request) {
	s.chain.get(r.Context(), true)
	http.Redirect(w, r, "/audit/status", http.StatusSeeOther)
}
