package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/fvbommel/sortorder"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// RepoAdminName is how `docker trust inspect` names the repository key's
// holder when a tag has no delegation signer.
const RepoAdminName = "Repo Admin"

// The JSON schema of `docker trust inspect`, field for field and in the
// same order (cli/command/trust/common.go in docker/cli v28): scripts parse
// it. The omitempty tags are Docker's too.
type (
	InspectJSON struct {
		Name               string
		SignedTags         []signedTagJSON
		Signers            []signerJSON
		AdministrativeKeys []signerJSON
		// Pinned is ours, not Docker's: present only for a pinned
		// repository, so Docker's output is unchanged otherwise.
		Pinned *PinJSON `json:",omitempty"`
	}
	signedTagJSON struct {
		SignedTag string
		Digest    string
		Signers   []string
	}
	signerJSON struct {
		Name string    `json:",omitempty"`
		Keys []keyJSON `json:",omitempty"`
	}
	keyJSON struct {
		ID string `json:",omitempty"`
	}
)

// Inspected is one argument of inspect and what was found for it.
type Inspected struct {
	Name string // the argument as typed
	Info trust.RepoInfo
	Pin  *trust.Pin // the pin that covers the repository, if any
}

func ToInspectJSON(r Inspected) InspectJSON {
	out := InspectJSON{
		Name:               r.Name,
		SignedTags:         []signedTagJSON{},
		Signers:            []signerJSON{},
		AdministrativeKeys: []signerJSON{},
	}
	for _, t := range r.Info.SignedTags {
		signers := t.Signers
		if len(signers) == 0 {
			signers = []string{RepoAdminName}
		}
		out.SignedTags = append(out.SignedTags, signedTagJSON{SignedTag: t.Tag, Digest: t.Digest, Signers: signers})
	}
	// Docker sorts signers by name, descending.
	signers := append([]trust.Signer(nil), r.Info.Signers...)
	sort.Slice(signers, func(i, j int) bool { return signers[i].Name > signers[j].Name })
	for _, s := range signers {
		out.Signers = append(out.Signers, signerJSON{Name: s.Name, Keys: keysJSON(s.KeyIDs)})
	}
	out.AdministrativeKeys = append(out.AdministrativeKeys,
		signerJSON{Name: "Root", Keys: keysJSON(r.Info.RootKeyIDs)},
		signerJSON{Name: "Repository", Keys: keysJSON(r.Info.RepositoryKeyIDs)},
	)
	if r.Pin != nil {
		out.Pinned = &PinJSON{Name: r.Pin.Pattern, KeyIDs: append([]string{}, r.Pin.KeyIDs...), CA: r.Pin.CA}
	}
	return out
}

func keysJSON(ids []string) []keyJSON {
	keys := []keyJSON{}
	for _, id := range ids {
		keys = append(keys, keyJSON{ID: id})
	}
	return keys
}

// WriteInspectJSON writes results as `docker trust inspect` did: always an
// array, indented with four spaces, "[]" when empty, then a newline.
func WriteInspectJSON(out io.Writer, results []Inspected) error {
	list := make([]InspectJSON, 0, len(results))
	for _, r := range results {
		list = append(list, ToInspectJSON(r))
	}
	if len(list) == 0 {
		_, err := io.WriteString(out, "[]\n")
		return err
	}
	b, err := json.MarshalIndent(list, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

// WriteInspectPretty writes one result as `docker trust inspect --pretty`
// did: signed tags, signers and their keys when there are any, then the
// administrative keys.
func WriteInspectPretty(out io.Writer, r Inspected) error {
	if len(r.Info.SignedTags) > 0 {
		_, _ = fmt.Fprintf(out, "\nSignatures for %s\n\n", r.Name)
		rows := [][]string{{"SIGNED TAG", "DIGEST", "SIGNERS"}}
		for _, t := range r.Info.SignedTags {
			signers := strings.Join(t.Signers, ", ")
			if signers == "" {
				signers = "(" + RepoAdminName + ")"
			}
			rows = append(rows, []string{t.Tag, t.Digest, signers})
		}
		if err := WriteTable(out, rows); err != nil {
			return err
		}
	} else {
		_, _ = fmt.Fprintf(out, "\nNo signatures for %s\n\n", r.Name)
	}

	if len(r.Info.Signers) > 0 {
		_, _ = fmt.Fprintf(out, "\nList of signers and their keys for %s\n\n", r.Name)
		signers := append([]trust.Signer(nil), r.Info.Signers...)
		sort.Slice(signers, func(i, j int) bool { return sortorder.NaturalLess(signers[i].Name, signers[j].Name) })
		rows := [][]string{{"SIGNER", "KEYS"}}
		for _, s := range signers {
			ids := make([]string, 0, len(s.KeyIDs))
			for _, id := range s.KeyIDs {
				ids = append(ids, formatter.TruncateID(id))
			}
			rows = append(rows, []string{s.Name, strings.Join(ids, ", ")})
		}
		if err := WriteTable(out, rows); err != nil {
			return err
		}
	}

	_, _ = fmt.Fprintf(out, "\nAdministrative keys for %s\n\n", r.Name)
	_, _ = fmt.Fprintf(out, "  Repository Key:\t%s\n", strings.Join(r.Info.RepositoryKeyIDs, ", "))
	_, err := fmt.Fprintf(out, "  Root Key:\t%s\n", strings.Join(r.Info.RootKeyIDs, ", "))
	if err != nil || r.Pin == nil {
		return err
	}
	// Ours, not Docker's: only for a pinned repository.
	to := "root key " + strings.Join(r.Pin.KeyIDs, ", ")
	if r.Pin.CA != "" {
		to = "the CA in " + r.Pin.CA
	}
	_, err = fmt.Fprintf(out, "\nPinned (%s) to %s\n", r.Pin.Pattern, to)
	return err
}

// WriteTable aligns rows the way docker's table formatter does
// (tabwriter: minimum width 10, padding 3, spaces).
func WriteTable(out io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	for _, r := range rows {
		// Cells hold names and messages from registries and trust servers:
		// escaped, an escape sequence in a tag cannot act on the terminal.
		_, _ = fmt.Fprintln(tw, strings.Join(safetext.Escapes(r), "\t"))
	}
	return tw.Flush()
}

// PinJSON is one pin in `pin list --format json` (docs/reference/acrtrust_pin_list.md).
type PinJSON struct {
	Name   string   // repository, "prefix*" or CA prefix
	KeyIDs []string // root key IDs; empty for a CA pin
	CA     string   `json:",omitempty"` // the CA file of a CA pin
}

// ExpiringRole is a role whose metadata expires soon, in verify and audit
// reports.
type ExpiringRole struct {
	Role    string
	Expires time.Time
}
