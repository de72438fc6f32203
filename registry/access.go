//go:build !agentimage

package registry

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/decom-project/decom/registry/store"
)

// Who reads what. Every route needs a token with the read scope, unless the
// registry serves reads to anyone (Config.PublicReads), except the routes named in
// routeAccess: the log's tiles, checkpoint and key and its consistency proofs,
// which reveal no certificate's content and are public either way, the health
// checks, the sign-in page, uploads (the upload scope) and /metrics (the admin
// scope). A route added without an entry here needs the read scope: closed by
// default.
//
// A token is sent as "Authorization: Bearer TOKEN". A browser signs in once at
// /login with a read token; the registry keeps it in a cookie (HttpOnly,
// SameSite=Lax, Secure over HTTPS) that it accepts for reads only: uploads and
// /metrics take the Authorization header alone. A read without a token is 401,
// with a token that may not read 403, before the certificate is looked up, so
// that neither tells whether it exists.

// accessKind is what a route needs.
type accessKind int

const (
	needRead   accessKind = iota // a read token, unless reads are public
	needNone                     // anyone
	needUpload                   // an upload token; the handler checks it
	needAdmin                    // an admin token
)

// routeAccess are the routes (mux patterns) that do not need the read scope.
var routeAccess = map[string]accessKind{
	"POST /api/v1/certificates":   needUpload,
	"POST /api/v1/plans":          needUpload,
	"GET /api/v1/log/checkpoint":  needNone,
	"GET /api/v1/log/key":         needNone,
	"GET /api/v1/log/consistency": needNone,
	"GET /log/":                   needNone,
	"GET /log":                    needNone,
	"GET /healthz":                needNone,
	"GET /readyz":                 needNone,
	"GET /login":                  needNone,
	"POST /login":                 needNone,
	"POST /logout":                needNone,
	"GET /metrics":                needAdmin,
}

// tokenCookie holds a browser's token after it signed in at /login.
const tokenCookie = "decom_token"

// errScope is a valid token without the scope a request needs.
var errScope = errors.New("token lacks the scope")

type accessMetrics struct {
	refused *prometheus.CounterVec
	limited prometheus.Counter
}

func newAccessMetrics(reg *prometheus.Registry) *accessMetrics {
	m := &accessMetrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "decom_registry_access_refused_total", Help: "Requests refused for want of a token or of its scope, by the scope needed."},
			[]string{"scope"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "decom_registry_rate_limited_total", Help: "Requests refused with 429 by the per-client rate limit."}),
	}
	reg.MustRegister(m.refused, m.limited)
	return m
}

// guard applies the rate limit and the access rules to a request before the mux
// serves it.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := s.mux.Handler(r)
		r.Pattern = pattern // for the request log and metrics, also of refused requests
		if !s.limit(w, r, pattern) {
			return
		}
		var want store.Scopes
		switch routeAccess[pattern] {
		case needRead:
			if s.publicReads {
				break
			}
			want = store.ScopeRead
		case needAdmin:
			want = store.ScopeAdmin
		}
		if want != 0 {
			if _, err := s.authorize(r, want, want == store.ScopeRead); err != nil {
				s.refuse(w, r, pattern, want, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authorize checks the request's token for the scope want: the bearer token, or,
// if cookieOK and there is none, the sign-in cookie. It returns the token, or
// store.ErrUnauthorized (no valid token), errScope (a valid token without want),
// or the store's error.
func (s *Server) authorize(r *http.Request, want store.Scopes, cookieOK bool) (store.TokenInfo, error) {
	var token string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return store.TokenInfo{}, store.ErrUnauthorized
		}
		token = strings.TrimSpace(t)
	} else if c, err := r.Cookie(tokenCookie); err == nil && cookieOK {
		token = c.Value
	}
	if token == "" {
		return store.TokenInfo{}, store.ErrUnauthorized
	}
	tk, err := s.store.CheckToken(r.Context(), token)
	if err != nil {
		return tk, err
	}
	if !tk.Scopes.Has(want) {
		return tk, errScope
	}
	return tk, nil
}

// refuse answers a request that lacks a token (401) or whose token lacks the
// scope (403): JSON for the API, the sign-in page for pages. Neither says anything
// of what was asked for.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, pattern string, want store.Scopes, err error) {
	if !errors.Is(err, store.ErrUnauthorized) && !errors.Is(err, errScope) {
		s.internal(w, r, err)
		return
	}
	s.access.refused.WithLabelValues(want.String()).Inc()
	status, msg := http.StatusUnauthorized, "this registry serves this only to holders of a token with the "+want.String()+" scope: send Authorization: Bearer TOKEN"
	w.Header().Set("WWW-Authenticate", `Bearer realm="decom registry"`)
	if errors.Is(err, errScope) {
		status, msg = http.StatusForbidden, "your token does not have the "+want.String()+" scope; ask the registry's operator for one that has (decom registry token create --scope "+want.String()+")"
		w.Header().Set("WWW-Authenticate", `Bearer realm="decom registry", error="insufficient_scope", scope="`+want.String()+`"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r, pattern) || want != store.ScopeRead {
		writeError(w, status, "%s", msg)
		return
	}
	page := loginPage{Next: localPath(r.URL.RequestURI()), Status: status}
	if errors.Is(err, errScope) {
		page.Error = "The token you signed in with may not read certificates. Sign in with a token that has the read scope."
	} else if _, cerr := r.Cookie(tokenCookie); cerr == nil {
		page.Error = "The token you signed in with is no longer valid. Sign in again."
	}
	s.renderLogin(w, r, status, page)
}

// wantsJSON reports whether a refusal of the request is answered in JSON: API
// routes and requests that do not ask for HTML.
func wantsJSON(r *http.Request, pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	if strings.HasPrefix(path, "/api/") || strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	return pattern == "" && !strings.Contains(r.Header.Get("Accept"), "text/html")
}

// localPath is where signing in leads back to: a path on this registry, never
// another site ("//host", "/\host").
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/"
	}
	if p == "/login" || strings.HasPrefix(p, "/login?") {
		return "/"
	}
	return p
}

type loginPage struct {
	Next   string
	Error  string
	Status int
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, p loginPage) {
	p.Status = status
	s.render(w, r, status, s.loginTemplate, p)
}

func loadLoginTemplate() (*template.Template, error) {
	return template.New("layout.html").ParseFS(templateFS, "templates/layout.html", "templates/login.html")
}

func (s *Server) accessRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /login", s.loginForm)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, loginPage{Next: localPath(r.URL.Query().Get("next"))})
}

// maxLoginForm bounds the sign-in form: a token and a path.
const maxLoginForm = 8 << 10

// login takes a read token from the sign-in form and keeps it in a cookie. The
// token is never logged, and never put in a URL.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			writeError(w, http.StatusForbidden, "sign in from this registry's own page")
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, r, http.StatusBadRequest, loginPage{Next: "/", Error: "The form could not be read."})
		return
	}
	next := localPath(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("token"))
	tk, err := s.store.CheckToken(r.Context(), token)
	switch {
	case errors.Is(err, store.ErrUnauthorized):
		s.access.refused.WithLabelValues("read").Inc()
		s.renderLogin(w, r, http.StatusUnauthorized, loginPage{Next: next, Error: "That is not a valid token of this registry."})
		return
	case err != nil:
		s.internal(w, r, err)
		return
	case !tk.Scopes.Has(store.ScopeRead):
		s.access.refused.WithLabelValues("read").Inc()
		s.renderLogin(w, r, http.StatusForbidden, loginPage{Next: next, Error: "That token may not read certificates (its scopes: " + tk.Scopes.String() + "). Sign in with a token that has the read scope."})
		return
	}
	http.SetCookie(w, s.cookie(r, token, 0))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.cookie(r, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// cookie is the sign-in cookie: for the browser's session (maxAge 0), or
// deleting it (maxAge < 0). Secure whenever the registry is reached over HTTPS,
// directly or, by its public URL, behind a proxy.
func (s *Server) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: tokenCookie, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil || strings.HasPrefix(s.publicURL, "https://"), SameSite: http.SameSiteLaxMode}
}
