package notationbridge

import (
	"sort"
	"strconv"
	"strings"
)

// The user metadata keys under which a migrated signature records what
// content trust proved about its digest (docs/migrate-to-notation.md). They
// are in the signed payload, so `notation inspect` shows them and
// `notation verify --user-metadata KEY=VALUE` can require them.
const (
	// MetaRepository is the content trust repository (GUN) the tags were
	// verified in.
	MetaRepository = "io.acrtrust.dct.repository"
	// MetaTag is the tag content trust signed at this digest; several tags
	// signed at the same digest are listed sorted, separated by commas (a
	// tag cannot contain a comma).
	MetaTag = "io.acrtrust.dct.tag"
	// MetaRole is the role that signed it: "targets", or "targets/releases"
	// (sorted and comma-separated when the tags differ).
	MetaRole = "io.acrtrust.dct.role"
	// MetaSigners are the names of the delegations (signer add NAME) that
	// signed the same tag and digest, sorted and comma-separated; absent
	// when only the repository key signed.
	MetaSigners = "io.acrtrust.dct.signers"
	// MetaRootKeyID is the key ID of the repository's root (what `inspect`
	// shows under Root and what pins name); several are comma-separated.
	MetaRootKeyID = "io.acrtrust.dct.root-key-id"
	// MetaTargetsVersion is the version of the targets metadata that was
	// verified.
	MetaTargetsVersion = "io.acrtrust.dct.targets-version"
	// MetaUnsigned is "true" on a signature of a tag that content trust
	// did not sign, signed because --include-unsigned said so. Such a
	// signature records no role, root or version.
	MetaUnsigned = "io.acrtrust.dct.unsigned"
)

// Provenance is what content trust proved about one digest.
type Provenance struct {
	Repository     string
	Tags           []string
	Roles          []string
	Signers        []string
	RootKeyIDs     []string
	TargetsVersion int
	// Unsigned marks a digest that content trust did not sign.
	Unsigned bool
}

// UserMetadata returns p under the Meta* keys.
func (p Provenance) UserMetadata() map[string]string {
	m := map[string]string{
		MetaRepository: p.Repository,
		MetaTag:        joinSorted(p.Tags),
	}
	if p.Unsigned {
		m[MetaUnsigned] = "true"
		return m
	}
	m[MetaRole] = joinSorted(p.Roles)
	m[MetaRootKeyID] = joinSorted(p.RootKeyIDs)
	m[MetaTargetsVersion] = strconv.Itoa(p.TargetsVersion)
	if len(p.Signers) > 0 {
		m[MetaSigners] = joinSorted(p.Signers)
	}
	return m
}

func joinSorted(s []string) string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}
