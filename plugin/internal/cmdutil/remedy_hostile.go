package cmdutil

import (
	"errors"
	"fmt"

	"github.com/acrtrust/docker-acrtrust/internal/capped"
	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// Remedies for what a hostile server or a broken local file can make a
// command refuse (issue 21): a listing that does not end, a key store
// others can write to, a pins file that is not a file, a trust policy that
// already trusts another certificate for a repository.

// hostileRemedy is the remedy for those errors, or "".
func hostileRemedy(err error) string {
	var le *trust.ListingError
	if errors.As(err, &le) {
		return listingRemedy(le)
	}
	var ue *keystore.UnsafeDirError
	if errors.As(err, &ue) {
		return unsafeDirRemedy(ue)
	}
	var ce *notationbridge.PolicyConflictError
	if errors.As(err, &ce) {
		return fmt.Sprintf("Nothing was signed or written: --emit-policy never changes what a trust policy already trusts. "+
			"If the new certificate should replace the old one for %s, remove %s from the registryScopes of statement %q in %s yourself; "+
			"otherwise emit the policy into another directory (--emit-policy DIR).", ce.Scope, ce.Scope, ce.Statement, ce.Path)
	}
	return ""
}

func listingRemedy(le *trust.ListingError) string {
	var r string
	switch {
	case errors.Is(le, trust.ErrListingTooLarge), errors.Is(le, trust.ErrListBudget):
		r = "The registry listed more names than this command holds in memory, so the listing was stopped."
		if le.Catalog || errors.Is(le, trust.ErrListBudget) {
			r += " Audit a part of the registry at a time (`docker acrtrust audit REGISTRY/PREFIX`, or `docker acrtrust audit --repos FILE REGISTRY` " +
				"with the repositories in FILE), with fewer at once (`docker acrtrust audit --parallel 2 REGISTRY`)."
		}
		return r
	case errors.Is(le, trust.ErrListingTimeout):
		r = "The registry did not finish the listing in time. Try again later; if it persists, tell the registry owner."
	default:
		r = "The registry's listing does not end: its next-page links go round in circles or go on without end, as a broken or hostile registry's do. " +
			"Nothing past that point was used. Tell the registry owner."
	}
	if le.Catalog {
		r += " Meanwhile, name the repositories to audit in a file instead of reading the catalog: `docker acrtrust audit --repos FILE REGISTRY`."
	}
	return r
}

func unsafeDirRemedy(ue *keystore.UnsafeDirError) string {
	if ue.Target != "" {
		return fmt.Sprintf("Nothing was written to the key store. Keys are written only inside the trust directory: move the folder the link points to into its place "+
			"(`%s`), or set DOCKER_CONFIG to a directory whose trust folder is a real, private folder. `docker acrtrust doctor` checks this.", ue.Fix())
	}
	return fmt.Sprintf("Nothing was written to the key store. Others can write to %s, so they could plant or swap key files: make it yours alone with `%s`, "+
		"then check its files with `docker acrtrust key list`. `docker acrtrust doctor` checks this.", ue.Path, ue.Fix())
}

// pinsFileRemedy is the remedy for a pins file that cannot be used.
func pinsFileRemedy(pe *trust.PinsFileError) string {
	var nr *capped.NotRegularError
	switch {
	case errors.As(pe, &nr):
		return fmt.Sprintf("Nothing was read or signed: %s is not a pins file (a pins file is a regular JSON file). "+
			"Name the pins file itself with --pins or ACRTRUST_PINS.", safetext.Escape(pe.Path))
	case capped.IsTooLarge(pe):
		return fmt.Sprintf("Nothing was read or signed: %s is larger than any pins file (at most %d MiB). "+
			"Name the right file with --pins or ACRTRUST_PINS.", safetext.Escape(pe.Path), trust.MaxPinsFileSize>>20)
	}
	return "Nothing was read or signed with a broken pins file. Fix it (it is notary's trust_pinning JSON, see docs/security.md), " +
		"or name another file with --pins or ACRTRUST_PINS."
}
