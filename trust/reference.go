package trust

import (
	"fmt"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/theupdateframework/notary/tuf/data"
)

// Ref is an image reference split the way trust needs it.
type Ref struct {
	// Original is the reference exactly as the user typed it.
	Original string
	// Name is the normalized repository name without tag or digest,
	// e.g. "myregistry.azurecr.io/app".
	Name reference.Named
	// Tag is empty when none was given.
	Tag string
	// Digest is empty unless the reference carried one.
	Digest digest.Digest
}

// ParseRef parses an image reference as docker does (docker.io/library
// defaults apply).
func ParseRef(s string) (Ref, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Ref{}, fmt.Errorf("parsing reference %q: %w", s, err)
	}
	r := Ref{Original: s, Name: reference.TrimNamed(named)}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest()
	}
	return r, nil
}

// Registry is the registry host, e.g. "myregistry.azurecr.io".
func (r Ref) Registry() string { return reference.Domain(r.Name) }

// Path is the repository path inside the registry, e.g. "app".
func (r Ref) Path() string { return reference.Path(r.Name) }

// GUN is the notary globally unique name of the repository: the full
// normalized name, e.g. "myregistry.azurecr.io/app".
func (r Ref) GUN() data.GUN { return data.GUN(r.Name.Name()) }

// Familiar is the short form docker prints (no docker.io/library prefix).
func (r Ref) Familiar() string { return reference.FamiliarName(r.Name) }

// WithTag returns the reference to the same repository at tag.
func (r Ref) WithTag(tag string) Ref {
	return Ref{Original: r.Name.Name() + ":" + tag, Name: r.Name, Tag: tag}
}

// String is the full reference: name, then ":tag", then "@digest" when set.
func (r Ref) String() string {
	s := r.Name.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}
