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
// [Sandbox.SetHostile] turns the trust server hostile for one repository or
// for all, so that tests can prove a client refuses each attack. A hostile
// mode changes only what GET requests for TUF metadata return (under every
// name notary's client asks for: <role>.json, <role>.<sha256>.json,
// <role>.<sha512>.json, <version>.root.json, delegations included);
// publishes still reach the genuine server, although a notary client reads
// the trust data before it publishes and so meets the hostile data first.
// The modes, what each models, and what a notary v0.7.0 client gets (as
// errors.As must match it, pointer or value):
//
//   - [HostileCompromise], a replaced server: a consistent repository under
//     new keys, every signed tag pointing at another image of the
//     repository. A client that cached the genuine root:
//     *trustpinning.ErrRootRotationFail (a pointer); a fresh client pinning
//     the genuine root certificate: *trustpinning.ErrValidationFail (a
//     pointer); a fresh client without pins accepts it (trust on first use).
//   - [HostileRollback], replayed old metadata: the first timestamp the
//     server made and what it references. A client that saw newer:
//     signed.ErrLowVersion (a value); a fresh client gets the old data.
//   - [HostileFreeze], metadata no longer updated: the timestamp of the
//     moment of activation, re-signed with the server's key and already
//     expired. signed.ErrExpired{Role: "timestamp"} (a value).
//   - [HostileExpired], a stale snapshot: re-signed with the server's key,
//     expired, under a fresh timestamp. signed.ErrExpired{Role: "snapshot"}
//     (a value).
//   - [HostileTamper], a server holding only the snapshot and timestamp
//     keys (as ACR does) redirecting tags: targets changed, their signatures
//     kept, snapshot and timestamp re-signed to match.
//     signed.ErrRoleThreshold (a value), not a checksum error; a tampered
//     delegation alone is skipped by notary, its tags not found
//     (client.ErrNoSuchTarget, a value).
//   - [HostileCorrupt], targets changed after the snapshot listed them (on
//     the server's disk or in transit), genuine snapshot and timestamp: a
//     client that downloads targets gets data.ErrMismatchedChecksum (or
//     storage.ErrMaliciousServer when the file grew); a warm client keeps
//     its verified copy, which the snapshot still lists.
//
// The package is meant for tests and demos (cmd/acrtrust-sandbox); nothing in
// the plugin imports it.
package sandbox
