// Package sandbox runs, in process and on loopback only, a stand-in for an
// Azure Container Registry login server with content trust enabled.
//
// One TLS host (https://127.0.0.1:PORT, certificate issued by a CA made at
// start, see [Sandbox.CACertPEM]) serves, the way ACR lays out its login
// server:
//
//   - a Docker registry (go-containerregistry's pkg/registry, in memory) under /v2/;
//   - a real Notary v1 server (notary's server package, memory store,
//     server-managed snapshot and timestamp keys) for every path containing
//     /_trust/. The GUN of repository "app" is "<host>/app", so its root is at
//     https://<host>/v2/<host>/app/_trust/tuf/root.json. Unlike notary
//     v0.7.0 built with Go 1.17 or later, it accepts publishes from signers
//     (delegation metadata such as targets/releases); see notary.go;
//   - a Docker token service at /oauth2/token (GET with basic auth, as dockerd
//     and the docker CLI use it, and the OAuth2 POST form with grant_type
//     password or refresh_token, as clients holding an identity token use it).
//
// Every resource request needs a bearer token from that service (or HTTP
// basic credentials), unless the sandbox runs with [Options.Anonymous]. The
// identities model ACR's roles: [UserPull] (AcrPull), [UserPush] (AcrPush),
// [UserSigner] (AcrPush and AcrImageSigner), [UserAdmin] (the admin account,
// which cannot push trust data), [UserScoped] (a repository-scoped token,
// which has no access to trust data at all) and [IdentityTokenUser] with
// [Sandbox.IdentityToken] (what `az acr login` stores). All passwords are
// [Password]. Denied requests answer 401 with a Bearer challenge, as ACR does,
// also when the token presented was valid but insufficient.
//
// [Sandbox.SetContentTrust] switches content trust off and on; switching it off
// deletes all trust data, as on ACR.
//
// The package is meant for tests and demos (cmd/acrtrust-sandbox); nothing in
// the plugin imports it.
package sandbox
