package cmdutil

import (
	"context"
	"errors"
	"fmt"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// What every command that reads or writes trust data does first: read the
// reference, and open the repository's trust data.

// ParseTrustRef parses image for a command that works on signed tags: a
// digest reference is refused (trust data is found by tag), and so, when
// requireTag is true, is a reference without a tag.
func ParseTrustRef(image string, requireTag bool) (trust.Ref, error) {
	ref, err := trust.ParseRef(image)
	if err != nil {
		return trust.Ref{}, err
	}
	if ref.Digest != "" {
		return trust.Ref{}, trust.ErrDigestReference
	}
	if requireTag && ref.Tag == "" {
		return trust.Ref{}, fmt.Errorf("no tag specified for %s", image)
	}
	return ref, nil
}

// OpenTrust opens ref's trust data, for writing when write is true. A
// failure says so in Docker's words and names the step (trust read or
// trust write) for the remedies.
func OpenTrust(ctx context.Context, d *Deps, ref trust.Ref, write bool) (trust.Repository, error) {
	repo, err := d.OpenRepo(ctx, ref, write)
	if errors.Is(err, keystore.ErrUnsafeDir) {
		return nil, d.Explained(err) // a local refusal: no connection was tried
	}
	if err != nil {
		op := trust.OpTrustRead
		if write {
			op = trust.OpTrustWrite
		}
		return nil, d.Fail(op, ref, ConnectionError(err))
	}
	return repo, nil
}

// ConnectionError is Docker's wording for a trust repository that could not
// be opened. A pins file that cannot be used is returned as it is: it
// stopped the command before any connection was tried.
func ConnectionError(err error) error {
	var pinsFile *trust.PinsFileError
	if errors.As(err, &pinsFile) {
		return err
	}
	return fmt.Errorf("error establishing connection to trust repository: %w", err)
}
