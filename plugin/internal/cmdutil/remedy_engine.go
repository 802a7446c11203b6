package cmdutil

import (
	"fmt"

	"github.com/moby/moby/client"
)

// EngineError marks an error as the docker engine's: which call failed and
// at which address, so that a failure to reach the engine is never taken
// for a registry's.
type EngineError struct {
	Call string // "push", "pull" or "tag"
	Host string // the engine's address (DOCKER_HOST or the context's)
	Err  error
}

func (e *EngineError) Error() string { return e.Err.Error() }
func (e *EngineError) Unwrap() error { return e.Err }

// unreachable reports whether the engine could not be reached at all, by
// the docker client's own error type.
func (e *EngineError) unreachable() bool { return client.IsErrConnectionFailed(e.Err) }

// Remedy explains an engine that could not be reached; what else the
// engine relays (a registry's refusal) is explained by the step that was
// attempted (Deps.Fail).
func (ee *EngineError) Remedy() string {
	if !ee.unreachable() {
		return ""
	}
	msg := fmt.Sprintf("The docker engine at %s did not answer: start it, or point DOCKER_HOST (or `docker context use`) at one that runs.", ee.Host)
	switch ee.Call {
	case "push":
		return msg + " Nothing was pushed or signed. An image that is already in the registry is signed without an engine: `docker acrtrust sign NAME:TAG`."
	case "pull", "tag":
		return msg + " The trust data needs no engine: `docker acrtrust resolve NAME:TAG` prints the verified digest to pull elsewhere."
	}
	return msg
}
