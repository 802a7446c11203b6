package key

import (
	"fmt"
	"slices"
	"strings"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/trust"
)

type keyListOptions struct {
	format string
}

// KeyListItem is one element of `key list --format json`; the schema is
// documented in docs/reference/acrtrust_key_list.md. Lists are [] when
// empty, never null.
type KeyListItem struct {
	ID         string
	Role       string
	Repository string
	File       string
	Encrypted  bool
	SignsFor   []KeyListSigning
	Problem    string
}

// KeyListSigning is one repository role a key signs for. KeyID is the ID
// the repository's trust data lists the key under: for a root key its
// certificate's ID, the one inspect shows under Root.
type KeyListSigning struct {
	Repository string
	Role       string
	KeyID      string
}

func newKeyListCommand(d *cmdutil.Deps) *cobra.Command {
	var opts keyListOptions
	cmd := &cobra.Command{
		Use:     "list [OPTIONS]",
		Aliases: []string{"ls"},
		Short:   "List the signing keys on this machine",
		Long: `List every key in $DOCKER_CONFIG/trust/private: its ID, its role (root,
targets, or a signer name), the repository a repository key belongs to, and
the repositories and roles it signs for as far as this machine's cached trust
data ($DOCKER_CONFIG/trust/tuf) tells. A root key is listed there under the
ID of each repository's root certificate, the ID that inspect shows under
Root: CERT ID shows it. Key files that are not usable or not private to their
owner are reported on stderr.`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeyList(d, opts)
		},
	}
	cmdutil.AddFormatFlag(cmd, &opts.format, cmdutil.JSONOrTemplate)
	return cmd
}

func runKeyList(d *cmdutil.Deps, opts keyListOptions) error {
	keys, err := keystore.List(d.TrustDir())
	if err != nil {
		return err
	}
	signing := cachedSigning(d.TrustDir())
	items := make([]KeyListItem, 0, len(keys))
	for _, k := range keys {
		items = append(items, toKeyListItem(k, signing[k.ID]))
	}
	out := d.CLI.Out()
	if done, err := cmdutil.WriteFormatted(out, opts.format, items); done {
		return err
	}
	if len(keys) == 0 {
		_, err := fmt.Fprintf(out, "No keys in %s\n", keystore.PrivateDir(d.TrustDir()))
		return err
	}
	rows := [][]string{{"ROLE", "KEY ID", "REPOSITORY", "CERT ID", "SIGNS FOR"}}
	for _, k := range items {
		rows = append(rows, []string{cmdutil.OrDash(k.Role), k.ID, cmdutil.OrDash(k.Repository), certIDs(k), signsFor(k)})
	}
	if err := cmdutil.WriteTable(out, rows); err != nil {
		return err
	}
	for _, k := range keys {
		if k.Problem != "" {
			_, _ = fmt.Fprintf(d.CLI.Err(), "WARNING: %s: %s\n", k.File, k.Problem)
		}
	}
	return nil
}

func toKeyListItem(k keystore.Key, signing []KeyListSigning) KeyListItem {
	return KeyListItem{ID: k.ID, Role: k.Role, Repository: k.Repository, File: k.File, Encrypted: k.Encrypted, Problem: k.Problem,
		SignsFor: append([]KeyListSigning{}, signing...)}
}

// cachedSigning maps the IDs of key files (canonical key IDs) to the
// repository roles that the cached trust data under trustDir lists them
// for: root and targets keys from root.json, signer keys from
// targets.json's delegations. It is what this machine last saw, not
// verified anew; unreadable metadata names no key.
func cachedSigning(trustDir string) map[string][]KeyListSigning {
	out := map[string][]KeyListSigning{}
	for _, gun := range trust.CachedRepositories(trustDir) {
		cached, _ := trust.ReadCache(trustDir, gun) // what could be read
		for _, r := range cached.Roles {
			for _, k := range r.Keys {
				if k.Canonical != "" {
					out[k.Canonical] = append(out[k.Canonical], KeyListSigning{Repository: gun.String(), Role: r.Role.String(), KeyID: k.ID})
				}
			}
		}
	}
	return out
}

// certIDs lists the IDs under which trust data lists k where they are not
// k's own ID: the root certificates of a root key (one per repository, in
// the order signsFor lists the repositories), which is what inspect shows
// under Root and what trust pins name.
func certIDs(k KeyListItem) string {
	var ids []string
	for _, s := range k.SignsFor {
		if s.KeyID != "" && s.KeyID != k.ID && !slices.Contains(ids, s.KeyID) {
			ids = append(ids, s.KeyID)
		}
	}
	if len(ids) == 0 {
		return "-"
	}
	return strings.Join(ids, ", ")
}

// signsFor lists repositories, with the roles in parentheses where they
// are not simply the key's own role (a signer key in targets/releases).
func signsFor(k KeyListItem) string {
	if len(k.SignsFor) == 0 {
		return "-"
	}
	var order []string
	roles := map[string][]string{}
	for _, s := range k.SignsFor {
		if _, ok := roles[s.Repository]; !ok {
			order = append(order, s.Repository)
		}
		if s.Role != k.Role {
			roles[s.Repository] = append(roles[s.Repository], s.Role)
		} else if roles[s.Repository] == nil {
			roles[s.Repository] = []string{}
		}
	}
	parts := make([]string, 0, len(order))
	for _, repo := range order {
		if rs := roles[repo]; len(rs) > 0 {
			parts = append(parts, repo+" ("+strings.Join(rs, ", ")+")")
		} else {
			parts = append(parts, repo)
		}
	}
	return strings.Join(parts, ", ")
}
