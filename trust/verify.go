package trust

import (
	"sort"

	"github.com/opencontainers/go-digest"
)

// TagStatus is how a registry tag stands against the trust data.
type TagStatus string

// The statuses verify reports.
const (
	// StatusSigned: signed, and the registry serves the signed digest.
	StatusSigned TagStatus = "signed"
	// StatusDrifted: signed, but the registry serves another digest (pushed without signing).
	StatusDrifted TagStatus = "drifted"
	// StatusUnsigned: in the registry, not in the trust data.
	StatusUnsigned TagStatus = "unsigned"
	// StatusMissing: signed, but the tag is no longer in the registry.
	StatusMissing TagStatus = "missing"
)

// TagReport is one tag's verification result.
type TagReport struct {
	Tag            string
	Status         TagStatus
	SignedDigest   digest.Digest `json:",omitempty"`
	RegistryDigest digest.Digest `json:",omitempty"`
}

// Compare compares what the registry serves (tag -> digest) with the
// signed targets, and returns one report per tag of either, sorted by tag.
func Compare(registry map[string]digest.Digest, signed []Target) []TagReport {
	signedBy := make(map[string]digest.Digest, len(signed))
	for _, t := range signed {
		signedBy[t.Name] = t.Digest
	}
	var out []TagReport
	for tag, served := range registry {
		r := TagReport{Tag: tag, RegistryDigest: served, Status: StatusUnsigned}
		if s, ok := signedBy[tag]; ok {
			r.SignedDigest = s
			r.Status = StatusDrifted
			if s == served {
				r.Status = StatusSigned
			}
		}
		out = append(out, r)
	}
	for tag, s := range signedBy {
		if _, ok := registry[tag]; !ok {
			out = append(out, TagReport{Tag: tag, Status: StatusMissing, SignedDigest: s})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out
}
