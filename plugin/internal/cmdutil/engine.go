package cmdutil

import (
	"context"
	"encoding/json"
	"fmt"
	cerrdefs "github.com/containerd/errdefs"
	"io"

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
}

func (e DockerEngine) registryAuth(ref string) (string, error) {
	return command.RetrieveAuthTokenFromImage(e.CLI.ConfigFile(), ref)
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
	auth, err := e.registryAuth(ref)
	if err != nil {
		return err
	}
	opts := client.ImagePullOptions{RegistryAuth: auth}
	if platform != "" {
		p, err := platforms.Parse(platform)
		if err != nil {
			return fmt.Errorf("invalid platform %q: %w", platform, err)
		}
		opts.Platforms = []ocispec.Platform{p}
	}
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
