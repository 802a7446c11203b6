package cmdutil

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/authconfig"
	registrytypes "github.com/moby/moby/api/types/registry"

	"github.com/containerd/platforms"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/streams"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Engine is what the commands need from the docker engine.
type Engine interface {
	// push pushes ref (name:tag) with docker push's progress on out and
	// returns the digest the engine reported, if it did (engines with the
	// containerd image store do not).
	Push(ctx context.Context, ref string, out io.Writer) (pushed string, err error)
	// pull pulls ref (name@digest or name:tag) with progress on out.
	Pull(ctx context.Context, ref string, platform string, out io.Writer) error
	// tag tags source as target.
	Tag(ctx context.Context, source, target string) error
	// Exists reports whether the engine has the image ref (name@digest).
	Exists(ctx context.Context, ref string) (bool, error)
}

// DockerEngine is the engine behind the docker CLI's API client.
type DockerEngine struct {
	CLI command.Cli
	// Tokens, when not nil, hands a pull the registry token that the
	// token cache already holds for the repository, so that the engine
	// asks the token service nothing (one round trip less than docker
	// pull's own).
	Tokens PullTokens
}

// PullTokens is the token cache, as a pull sees it (trust.Network).
type PullTokens interface {
	// PullToken is a cached token of host's that grants pull on
	// repository and is valid for at least minLife more, or "".
	PullToken(host, repository string, minLife time.Duration) string
	// ForgetToken drops a token that a pull carried and failed with.
	ForgetToken(host, token string)
}

// engineTokenLife is how long a cached token must still be valid to be
// handed to the engine: a pull presents it on every request, the last
// layer's included, and cannot renew it.
const engineTokenLife = 2 * time.Minute

func (e DockerEngine) registryAuth(ref string) (string, error) {
	return command.RetrieveAuthTokenFromImage(e.CLI.ConfigFile(), ref)
}

// pullAuth is docker's registry login for ref, as docker pull sends it
// (command.RetrieveAuthTokenFromImage), with token as its RegistryToken
// when token is not "": the engine then presents the token instead of
// asking the token service with the login.
func (e DockerEngine) pullAuth(host string, token string) (string, error) {
	ac, err := e.CLI.ConfigFile().GetAuthConfig(host)
	if err != nil {
		return "", err
	}
	rt := ac.RegistryToken
	if token != "" {
		rt = token
	}
	return authconfig.Encode(registrytypes.AuthConfig{
		Username:      ac.Username,
		Password:      ac.Password,
		ServerAddress: ac.ServerAddress,
		Auth:          ac.Auth,
		IdentityToken: ac.IdentityToken,
		RegistryToken: rt,
	})
}

// fail marks err as the engine's, for explanations.
func (e DockerEngine) fail(call string, err error) error {
	if err == nil {
		return nil
	}
	return &EngineError{Call: call, Host: e.CLI.DockerEndpoint().Host, Err: err}
}

func (e DockerEngine) Push(ctx context.Context, ref string, out io.Writer) (string, error) {
	pushed, err := e.doPush(ctx, ref, out)
	return pushed, e.fail("push", err)
}

func (e DockerEngine) Pull(ctx context.Context, ref string, platform string, out io.Writer) error {
	return e.fail("pull", e.doPull(ctx, ref, platform, out))
}

func (e DockerEngine) Tag(ctx context.Context, source, target string) error {
	_, err := e.CLI.Client().ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target})
	return e.fail("tag", err)
}

func (e DockerEngine) Exists(ctx context.Context, ref string) (bool, error) {
	_, err := e.CLI.Client().ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	}
	return false, e.fail("inspect", err)
}

func (e DockerEngine) doPush(ctx context.Context, ref string, out io.Writer) (string, error) {
	auth, err := e.registryAuth(ref)
	if err != nil {
		return "", err
	}
	body, err := e.CLI.Client().ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return "", err
	}
	defer body.Close()
	var pushed string
	aux := func(m jsonstream.Message) {
		var r struct{ Tag, Digest string }
		if m.Aux != nil && json.Unmarshal(*m.Aux, &r) == nil && r.Digest != "" {
			pushed = r.Digest
		}
	}
	if err := display(body, out, aux); err != nil {
		return "", err
	}
	return pushed, nil
}

func (e DockerEngine) doPull(ctx context.Context, ref string, platform string, out io.Writer) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return err
	}
	opts := client.ImagePullOptions{}
	if platform != "" {
		p, err := platforms.Parse(platform)
		if err != nil {
			return fmt.Errorf("invalid platform %q: %w", platform, err)
		}
		opts.Platforms = []ocispec.Platform{p}
	}
	host := reference.Domain(named)
	token := ""
	if e.Tokens != nil {
		token = e.Tokens.PullToken(host, reference.Path(named), engineTokenLife)
	}
	err = e.pullWith(ctx, ref, host, token, opts, out)
	if token != "" && err != nil && ctx.Err() == nil {
		// The registry may have refused the cached token (revoked, or
		// expired during a long pull): the engine answers that with an
		// error status before the pull starts, or in its progress stream
		// after. Drop the token, and pull once more with the login
		// alone, as docker pull does; whatever fails then is the pull's.
		e.Tokens.ForgetToken(host, token)
		err = e.pullWith(ctx, ref, host, "", opts, out)
	}
	return err
}

// pullWith pulls ref with host's login, and token when it is not "".
func (e DockerEngine) pullWith(ctx context.Context, ref, host, token string, opts client.ImagePullOptions, out io.Writer) error {
	auth, err := e.pullAuth(host, token)
	if err != nil {
		return err
	}
	opts.RegistryAuth = auth
	body, err := e.CLI.Client().ImagePull(ctx, ref, opts)
	if err != nil {
		return err
	}
	defer body.Close()
	return display(body, out, nil)
}

// display renders an engine JSON message stream as docker push and pull do.
func display(in io.Reader, out io.Writer, aux func(jsonstream.Message)) error {
	var fd uintptr
	var isTerm bool
	if o, ok := out.(*streams.Out); ok {
		fd, isTerm = o.FD(), o.IsTerminal()
	}
	return jsonmessage.DisplayJSONMessagesStream(in, out, fd, isTerm, aux)
}
