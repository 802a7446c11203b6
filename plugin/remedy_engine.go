package plugin

import (
	"fmt"

	"github.com/moby/moby/client"
)

// engineError marks an error as the docker engine's: which call failed and
// at which address, so that a failure to reach the engine is never taken
// for a registry's.
type engineError struct {
	call string // "push", "pull" or "tag"
	host string // the engine's address (DOCKER_HOST or the context's)
	err  error
}

func (e *engineError) Error() string { return e.err.Error() }
func (e *engineError) Unwrap() error { return e.err }

// unreachable reports whether the engine could not be reached at all, by
// the docker client's own error type.
func (e *engineError) unreachable() bool { return client.IsErrConnectionFailed(e.err) }

// Remedy explains an engine that could not be reached; what else the
// engine relays (a registry's refusal) is explained by the step that was
// attempted (deps.fail).
func (ee *engineError) Remedy() string {
	if !ee.unreachable() {
		return ""
	}
	msg := fmt.Sprintf("The docker engine at %s did not answer: start it, or point DOCKER_HOST (or `docker context use`) at one that runs.", ee.host)
	switch ee.call {
	case "push":
		return msg + " Nothing was pushed or signed. An image that is already in the registry is signed without an engine: `docker acrtrust sign NAME:TAG`."
	case "pull", "tag":
		return msg + " The trust data needs no engine: `docker acrtrust resolve NAME:TAG` prints the verified digest to pull elsewhere."
	}
	return msg
}
