package sandbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Password is the password of every sandbox identity.
const Password = "sandbox-pass-1234"

// The sandbox identities and the ACR roles they stand for.
const (
	UserPull   = "puller"       // AcrPull
	UserPush   = "pusher"       // AcrPush (push/pull images, read trust data, cannot write trust data)
	UserSigner = "signer"       // AcrPush + AcrImageSigner (may write trust data)
	UserAdmin  = "admin"        // ACR admin account: push/pull images, read trust data, CANNOT write trust data (ACR: admin accounts cannot push trusted images)
	UserScoped = "scoped-token" // repository-scoped token: push/pull images only in repositories under "scoped/"; NO access to trust data at all (ACR documented limitation)
	// IdentityTokenUser is the user name `az acr login` stores with an
	// identity (refresh) token; its password is [Sandbox.IdentityToken] and its
	// rights are those of [UserSigner].
	IdentityTokenUser = "00000000-0000-0000-0000-000000000000"
)

// scopedPrefix is the repository prefix the repository-scoped token covers.
const scopedPrefix = "scoped/"

// tokenLifetime is how long an access token lives (ACR: 5 minutes as well).
const tokenLifetime = 300 * time.Second

// role is what an identity may do.
type role struct {
	pull, push            bool   // registry
	trustRead, trustWrite bool   // notary
	catalog               bool   // GET /v2/_catalog and the global changefeed
	repoPrefix            string // if set, registry rights only for repositories with this prefix
}

var roles = map[string]role{
	UserPull:          {pull: true, trustRead: true, catalog: true},
	UserPush:          {pull: true, push: true, trustRead: true, catalog: true},
	UserSigner:        {pull: true, push: true, trustRead: true, trustWrite: true, catalog: true},
	UserAdmin:         {pull: true, push: true, trustRead: true, catalog: true},
	UserScoped:        {pull: true, push: true, repoPrefix: scopedPrefix},
	IdentityTokenUser: {pull: true, push: true, trustRead: true, trustWrite: true, catalog: true},
}

// scope is one Docker token scope: "repository:NAME:ACTIONS" or
// "registry:catalog:*".
type scope struct {
	Type    string
	Name    string
	Actions []string
}

var catalogScope = scope{Type: "registry", Name: "catalog", Actions: []string{"*"}}

func (sc scope) String() string {
	return sc.Type + ":" + sc.Name + ":" + strings.Join(sc.Actions, ",")
}

// parseScopes parses the scope parameters of a token request: repeated,
// and each possibly holding several space-separated scopes.
func parseScopes(values []string) []scope {
	var out []scope
	for _, v := range values {
		for _, f := range strings.Fields(v) {
			// NAME may contain a colon (host:port in a GUN), so split the
			// type off the front and the actions off the back.
			first := strings.Index(f, ":")
			last := strings.LastIndex(f, ":")
			if first < 0 || last == first {
				continue
			}
			sc := scope{Type: f[:first], Name: f[first+1 : last]}
			for _, a := range strings.Split(f[last+1:], ",") {
				if a != "" {
					sc.Actions = append(sc.Actions, a)
				}
			}
			out = append(out, sc)
		}
	}
	return out
}

// grant is what a token allows: scope type and name to allowed actions.
type grant map[string][]string

func grantKey(typ, name string) string { return typ + ":" + name }

func (g grant) allows(sc scope) bool {
	have := g[grantKey(sc.Type, sc.Name)]
	for _, a := range sc.Actions {
		if !slices.Contains(have, a) {
			return false
		}
	}
	return true
}

// token is an issued access token.
type token struct {
	grant   grant
	subject string // identity, "" for anonymous
	expires time.Time
}

// allowedActions returns the actions of sc that identity may perform.
func (s *Sandbox) allowedActions(identity string, sc scope) []string {
	r, ok := roles[identity]
	if !ok {
		return nil
	}
	var allowed []string
	switch sc.Type {
	case "registry":
		if sc.Name == "catalog" && r.catalog {
			allowed = []string{"*"}
		}
	case "repository":
		if repo, isTrust := s.trustRepo(sc.Name); isTrust {
			if r.trustRead {
				allowed = append(allowed, "pull")
			}
			if r.trustWrite {
				allowed = append(allowed, "push", "delete", "*")
			}
		} else if r.repoPrefix == "" || strings.HasPrefix(repo, r.repoPrefix) {
			if r.pull {
				allowed = append(allowed, "pull", "metadata_read") // ACR: AcrPull reads tag metadata
			}
			if r.push {
				allowed = append(allowed, "push", "delete")
			}
		}
	}
	var out []string
	for _, a := range sc.Actions {
		if slices.Contains(allowed, a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// trustRepo tells whether a scope name is a GUN of this sandbox (its first
// component is one of the names this host answers to) and returns the
// repository name without the host.
func (s *Sandbox) trustRepo(name string) (repo string, isTrust bool) {
	if host, rest, ok := strings.Cut(name, "/"); ok && s.aliases[host] {
		return rest, true
	}
	return name, false
}

// login checks credentials and returns the identity.
func (s *Sandbox) login(user, pass string) (string, bool) {
	if user == IdentityTokenUser {
		return user, equal(pass, s.identityToken)
	}
	if _, ok := roles[user]; ok && equal(pass, Password) {
		return user, true
	}
	return "", false
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// issue makes an access token for identity ("" is anonymous) covering the
// intersection of the requested scopes with the identity's rights.
func (s *Sandbox) issue(identity string, scopes []scope) (string, time.Time) {
	g := grant{}
	for _, sc := range scopes {
		var actions []string
		if s.opts.Anonymous {
			actions = sc.Actions
		} else {
			actions = s.allowedActions(identity, sc)
		}
		key := grantKey(sc.Type, sc.Name)
		for _, a := range actions {
			if !slices.Contains(g[key], a) {
				g[key] = append(g[key], a)
			}
		}
	}
	now := time.Now()
	t := accessToken(now.Add(tokenLifetime)) // jwt.go
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) > 10000 {
		for k, v := range s.tokens {
			if now.After(v.expires) {
				delete(s.tokens, k)
			}
		}
	}
	s.tokens[t] = token{grant: g, subject: identity, expires: now.Add(tokenLifetime)}
	return t, now
}

// authorize checks the request's credentials against sc (nil: any valid
// credentials will do). On failure it writes the 401 challenge and returns
// false. It returns the identity for the request log.
func (s *Sandbox) authorize(w http.ResponseWriter, r *http.Request, sc *scope) (string, bool) {
	if s.opts.Anonymous {
		return "anonymous", true
	}
	auth := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(auth, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		s.mu.Lock()
		t, ok := s.tokens[strings.TrimSpace(cred)]
		s.mu.Unlock()
		if ok && time.Now().Before(t.expires) && (sc == nil || t.grant.allows(*sc)) {
			return t.subject, true
		}
		if ok {
			s.challenge(w, r, sc)
			return t.subject, false
		}
	case "basic":
		if user, pass, ok := r.BasicAuth(); ok {
			if identity, ok := s.login(user, pass); ok {
				if sc == nil || len(s.allowedActions(identity, *sc)) == len(sc.Actions) {
					return identity, true
				}
				s.challenge(w, r, sc)
				return identity, false
			}
		}
	}
	s.challenge(w, r, sc)
	return "", false
}

// challenge answers 401 with a Bearer challenge for sc, as ACR does both for
// missing and for insufficient credentials.
func (s *Sandbox) challenge(w http.ResponseWriter, r *http.Request, sc *scope) {
	host := s.hostFor(r)
	v := fmt.Sprintf(`Bearer realm="https://%s/oauth2/token",service="%s"`, host, host)
	type detail struct {
		Type   string
		Name   string
		Action string
	}
	var details []detail
	if sc != nil {
		v += fmt.Sprintf(`,scope="%s"`, sc)
		for _, a := range sc.Actions {
			details = append(details, detail{Type: sc.Type, Name: sc.Name, Action: a})
		}
	}
	w.Header().Set("WWW-Authenticate", v)
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required", details)
}

// hostFor returns the name the client used for this host, if it is one of
// ours, so that challenges send it back to the same name.
func (s *Sandbox) hostFor(r *http.Request) string {
	if s.aliases[r.Host] {
		return r.Host
	}
	return s.host
}

// writeError writes a registry error body {"errors":[...]}.
func writeError(w http.ResponseWriter, status int, code, message string, detail any) {
	type regErr struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Detail  any    `json:"detail,omitempty"`
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Errors []regErr `json:"errors"`
	}{[]regErr{{Code: code, Message: message, Detail: detail}}})
}

// tokenResponse is the body of a successful token request: the fields of the
// Docker token spec and of its OAuth2 variant.
type tokenResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// serveToken is /oauth2/token.
func (s *Sandbox) serveToken(w http.ResponseWriter, r *http.Request) string {
	var (
		identity string
		scopes   []scope
		refresh  string
	)
	switch r.Method {
	case http.MethodGet:
		// The classic flow: basic auth (optional) and query parameters.
		if user, pass, ok := r.BasicAuth(); ok {
			id, ok := s.login(user, pass)
			if !ok {
				writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid username or password", nil)
				return user
			}
			identity = id
		}
		scopes = parseScopes(r.URL.Query()["scope"])
	case http.MethodPost:
		// The OAuth2 flow: a form with a password or refresh token grant.
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST", err.Error(), nil)
			return ""
		}
		switch gt := r.PostForm.Get("grant_type"); gt {
		case "password":
			id, ok := s.login(r.PostForm.Get("username"), r.PostForm.Get("password"))
			if !ok {
				writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid username or password", nil)
				return r.PostForm.Get("username")
			}
			identity = id
			refresh = randomToken()
			s.mu.Lock()
			s.refresh[refresh] = id
			s.mu.Unlock()
		case "refresh_token":
			s.mu.Lock()
			id, ok := s.refresh[r.PostForm.Get("refresh_token")]
			s.mu.Unlock()
			if !ok {
				writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid refresh token", nil)
				return ""
			}
			identity = id
		default:
			writeError(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("unsupported grant_type %q", gt), nil)
			return ""
		}
		scopes = parseScopes(r.PostForm["scope"])
	default:
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "use GET or POST", nil)
		return ""
	}
	t, issued := s.issue(identity, scopes)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(tokenResponse{
		Token:        t,
		AccessToken:  t,
		ExpiresIn:    int(tokenLifetime / time.Second),
		IssuedAt:     issued.UTC().Format(time.RFC3339),
		RefreshToken: refresh,
	})
	return identity
}
