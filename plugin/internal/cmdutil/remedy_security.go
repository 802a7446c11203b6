package cmdutil

import (
	"errors"
	"fmt"
	"strings"

	"github.com/theupdateframework/notary/tuf/data"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// securityRemedy explains a refusal of trust data that may be an attack:
// what was refused, that it can be an attack, what a legitimate cause looks
// like, and the exact way to recover from that cause. Every one starts by
// saying that nothing was used.
func (d *Deps) securityRemedy(te *trust.Error, p Problem) string {
	const nothing = "Nothing was pulled, signed or resolved from it."
	gun := te.GUN.String()
	cacheDir := trust.CacheDir(d.TrustDir(), te.GUN)
	switch te.Kind {
	case trust.KindPinMismatch:
		if errors.Is(te, trust.ErrPinnedWithoutTrustData) {
			return fmt.Sprintf("Nothing was signed. A pinned repository whose trust data is gone from the server is either an attack or a registry whose content trust was reset "+
				"(on ACR, turning content trust off deletes all trust data). If the registry owner confirms a reset, remove the pin (`docker acrtrust pin remove %s`), "+
				"sign again, pin the new root (`docker acrtrust pin add %s -y`) and give the new pins file to every consumer.", te.Pin.Pattern, gun)
		}
		pinned := "the CA in " + te.Pin.CA
		if te.Pin.CA == "" {
			pinned = "root key " + strings.Join(te.Trusted, ", ")
		}
		msg := fmt.Sprintf("%s The trust server presented a root for %s that does not match its pin in %s (%s: %s). "+
			"This is what a compromised or impersonated trust server looks like. ", nothing, gun, d.PinsPath, te.Pin.Pattern, pinned)
		if te.Pin.CA != "" {
			return msg + "If the publisher moved the repository to a root certificate from another CA, confirm it with them out of band, then pin the new CA: " +
				fmt.Sprintf("`docker acrtrust pin add %s --ca FILE`.", te.Pin.Pattern)
		}
		presented := "NEW_ROOT_KEY_ID"
		if len(te.Presented) > 0 {
			presented = strings.Join(te.Presented, " --key-id ")
		}
		return msg + fmt.Sprintf("If the publisher rotated the root key, confirm the new root key ID with them out of band, then update the pin: "+
			"`docker acrtrust pin add %s --key-id %s`.", te.Pin.Pattern, presented)
	case trust.KindRootRotation:
		msg := fmt.Sprintf("%s The trust server presents a new root for %s that the root this machine trusts did not sign", nothing, gun)
		if len(te.Trusted) > 0 && len(te.Presented) > 0 {
			msg += fmt.Sprintf(" (trusted root key %s, presented %s)", strings.Join(te.Trusted, ", "), strings.Join(te.Presented, ", "))
		}
		msg += ". A publisher who rotates the root key properly signs the new root with the old one, so this is either an attack on the trust server " +
			"or a publisher who lost the old root key and started over. Do not use this image until the publisher confirms, out of band, that they replaced the root. " +
			fmt.Sprintf("If they did, remove this machine's cached trust data for the repository (rm -rf %s)", cacheDir)
		if te.Pin != nil {
			msg += fmt.Sprintf(" and update its pin: `docker acrtrust pin add %s --key-id NEW_ROOT_KEY_ID`", te.Pin.Pattern)
		}
		return msg + "."
	case trust.KindUntrustedRoot:
		return fmt.Sprintf("%s The root metadata the trust server presents for %s is not valid: its certificates or signatures do not check out. "+
			"Do not use this image; tell the registry owner. A root that a publisher signed correctly never fails this check.", nothing, gun)
	case trust.KindBadSignature:
		return fmt.Sprintf("%s The trust data of %s is not signed by the keys its role requires: it was altered after it was signed. "+
			"The trust server holds only the snapshot and timestamp keys, so a server that changes what a tag points to fails exactly this way. "+
			"Do not use this image; tell the registry owner. If the publisher confirms that the data is theirs and merely damaged, they sign the tag again (`docker acrtrust sign %s:TAG`).", nothing, gun, p.Repo)
	case trust.KindRollback:
		return fmt.Sprintf("%s The trust server offered older trust data for %s than this machine has already seen: a rollback, which could bring back a revoked or replaced tag. "+
			"A legitimate cause is a trust server restored from an old backup. Try again later and tell the registry owner; "+
			"do not delete the cached trust data (%s) to get past this unless the registry owner confirms such a restore.", nothing, gun, cacheDir)
	case trust.KindChecksum:
		return fmt.Sprintf("%s Trust metadata of %s does not match the checksum that the snapshot lists for it: it was changed on the server or in transit. "+
			"Do not use this image; try again, and tell the registry owner if it persists.", nothing, gun)
	case trust.KindExpired:
		return d.expiredRemedy(te, p)
	case trust.KindRedirect:
		return fmt.Sprintf("%s The trust server of %s sent a request for its trust data elsewhere: to plain HTTP, or to another host. "+
			"Trust data is read only over verified TLS from the trust server itself, so the redirect was not followed; a server that sends clients "+
			"elsewhere may be steering them to an attacker or stripping TLS. Tell the registry owner; a proxy in front of the trust server must not redirect /_trust/ requests. "+
			"Only if the owner confirms that an https host is theirs, allow it with %s=HOST[:PORT]; plain HTTP is never followed.", nothing, gun, EnvTrustRedirectHosts)
	case trust.KindUnpinned:
		return fmt.Sprintf("Nothing was used from it. Pins are required (%s), and no pin in %s covers %s. ", d.RequirePinSource(), d.PinsPath, gun) +
			PinAddRemedy(p.Where)
	}
	return ""
}

// expiredRemedy depends on which role expired: the server renews snapshot
// and timestamp, a publisher targets and delegations, the root key's
// holder the root.
func (d *Deps) expiredRemedy(te *trust.Error, p Problem) string {
	role := te.Role
	switch {
	case d.Offline() && role == data.CanonicalTimestampRole:
		return "Nothing was used from it. --offline uses the cache only while its timestamp is current; this one has expired. " +
			"Run the command online once (without --offline or ACRTRUST_OFFLINE) to refresh the cache."
	case role == data.CanonicalTimestampRole || role == data.CanonicalSnapshotRole:
		return fmt.Sprintf("Nothing was used from it. The trust server serves %s metadata for %s that has expired. The server renews it on its own, "+
			"so stale metadata means the server is being held back or replayed (a freeze attack) or it is failing. Try again later and tell the registry owner.", role, te.GUN)
	case role == data.CanonicalRootRole:
		return fmt.Sprintf("Nothing was used from it. The root metadata of %s has expired: the holder of the root key must renew it. "+
			"Until then every trusted pull of %s fails.", te.GUN, p.Repo)
	}
	return fmt.Sprintf("Nothing was used from it. The %s metadata of %s has expired: a publisher with the key must sign again (`docker acrtrust sign %s:TAG`). "+
		"Until then every trusted pull of %s fails.", role, te.GUN, p.Repo, p.Repo)
}

// PinAddRemedy is how to pin a repository.
func PinAddRemedy(w Where) string {
	return fmt.Sprintf("Ask the publisher for its root key ID (`docker acrtrust inspect %s` shows it under Root; compare out of band), then pin it: "+
		"`docker acrtrust pin add %s --key-id ROOT_KEY_ID`, and commit the pins file for your pipeline.", w.Repo, w.GUN)
}

// RequirePinSource names what made pins required.
func (d *Deps) RequirePinSource() string {
	switch {
	case d.flags.requirePin:
		return "--require-pin"
	case d.Env.requirePin:
		return envRequirePin
	}
	return `"disable_tofu" in the pins file`
}
