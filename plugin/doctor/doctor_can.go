package doctor

import (
	"fmt"
	"strings"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// What a login may do, and how much a missing right for publishing
// matters when nothing was asked to publish.

// forPublishing is the status of a problem that only publishing has: a
// failure with --sign; else a warning for a login that may publish in part
// (push images, or write trust data), whose signed push would stop
// half-way; else, for a login that cannot publish at all (a pull-only
// one), information.
func (g *diagnosis) forPublishing() string {
	switch {
	case g.sign:
		return checkFail
	case g.access[trust.OpRegistryPush].Granted || g.access[trust.OpTrustWrite].Granted:
		return checkWarn
	}
	return checkInfo
}

// rightNames names the rights for DoctorReport.Can and Cannot, in order.
var rightNames = []struct {
	op   trust.Op
	name string
}{
	{trust.OpRegistryRead, "pull"},
	{trust.OpTrustRead, "read trust data"},
	{trust.OpRegistryPush, "push"},
	{trust.OpTrustWrite, "write trust data"},
}

// capabilities sorts the rights the token service answered for into those
// granted and those denied; a right not checked, or not served (content
// trust off), is in neither.
func capabilities(checked []trust.Access) (can, cannot []string) {
	can, cannot = []string{}, []string{}
	for _, r := range rightNames {
		for _, a := range checked {
			switch {
			case a.Op != r.op || !a.Checked || a.NotServed || a.LoginRefused:
			case a.Granted:
				can = append(can, r.name)
			default:
				cannot = append(cannot, r.name)
			}
		}
	}
	return can, cannot
}

// summarise is the report's closing line: what the login can and cannot do
// with the repository, and, when some checks were only information, what
// --sign would check.
func summarise(rep DoctorReport) string {
	if len(rep.Can) == 0 && len(rep.Cannot) == 0 {
		return ""
	}
	var parts []string
	if len(rep.Can) > 0 {
		parts = append(parts, "can "+joinList(rep.Can, "and"))
	}
	if len(rep.Cannot) > 0 {
		parts = append(parts, "cannot "+joinList(rep.Cannot, "or"))
	}
	who, pronoun := "this login", "it"
	if rep.anonymous {
		who, pronoun = "requests without a login", "they"
	}
	s := fmt.Sprintf("On %s %s %s.", rep.Repository, who, strings.Join(parts, "; "+pronoun+" "))
	for _, c := range rep.Checks {
		if c.Status == checkInfo {
			return s + fmt.Sprintf(" The info lines matter only for publishing: `docker acrtrust doctor --sign %s` checks signing from here.", rep.Image)
		}
	}
	return s
}

// joinList joins "a", "b" and "c" as "a, b and c" (conj "and") or
// "a, b or c" (conj "or").
func joinList(items []string, conj string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + conj + " " + items[len(items)-1]
}
