package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// Listing the repositories to audit: the registry's catalog, or --repos FILE.

// catalogLister lists a registry's repositories; *trust.Registry does.
type catalogLister interface {
	Repositories(ctx context.Context, host string, fn func(page []string) error) error
}

// catalog returns the registry client as a catalog lister, sharing its
// connections and tokens when it can.
func catalog(d *cmdutil.Deps) catalogLister {
	if c, ok := d.Registry.(catalogLister); ok {
		return c
	}
	return trust.NewRegistry(d.Network, d.Audit)
}

// listRepositories calls add with every repository to audit, as
// REGISTRY/REPOSITORY, until add returns false.
func listRepositories(ctx context.Context, d *cmdutil.Deps, opts AuditOptions, targets []auditTarget, add func(string) bool) error {
	if opts.reposFile != "" {
		return readReposFile(d, opts.reposFile, targets, add)
	}
	for _, t := range targets {
		stop := errors.New("stop")
		err := catalog(d).Repositories(ctx, t.host, func(page []string) error {
			for _, repo := range page {
				if t.matches(repo) && !add(t.host+"/"+repo) {
					return stop
				}
			}
			return nil
		})
		if errors.Is(err, stop) || ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, trust.ErrCatalogDenied) {
			return cli.StatusError{StatusCode: cmdutil.ExitFailure, Status: err.Error() + "\n" + catalogRemedy(t.host)}
		}
		if err != nil {
			ref, _ := trust.ParseRef(t.host + "/catalog")
			return d.Fail(trust.OpRegistryRead, ref, err)
		}
	}
	return nil
}

// catalogRemedy says which role lists a registry's repositories.
func catalogRemedy(host string) string {
	scope := "--scope $(az acr show --name <registry> --query id --output tsv)"
	if acr := cmdutil.ACRRegistryName(host); acr != "" {
		scope = fmt.Sprintf("--scope $(az acr show --name %s --query id --output tsv)", acr)
	}
	return "Listing the repositories needs the catalog permission: on ACR the AcrPull role\n" +
		"  az role assignment create --role AcrPull --assignee <user, group or service principal ID> " + scope + "\n" +
		"or, on registries with ABAC repository permissions, \"Container Registry Repository Catalog Lister\".\n" +
		"Repository-scoped tokens can never list the catalog: name the repositories with --repos FILE instead."
}

// readReposFile reads one repository per line; blank lines and lines
// starting with # are skipped. Names without a registry take the one
// REGISTRY argument's.
func readReposFile(d *cmdutil.Deps, file string, targets []auditTarget, add func(string) bool) error {
	var in io.Reader
	if file == "-" {
		in = d.CLI.In()
	} else {
		f, err := os.Open(file)
		if err != nil {
			return cmdutil.UsageError{Err: fmt.Errorf("reading --repos: %w", err)}
		}
		defer f.Close()
		in = f
	}
	sc := bufio.NewScanner(in)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name := s
		if first, _, _ := strings.Cut(s, "/"); !strings.ContainsAny(first, ".:") && first != "localhost" {
			if len(targets) != 1 {
				return cmdutil.UsageError{Err: fmt.Errorf("--repos line %d: %q names no registry: write REGISTRY/REPOSITORY, or give the REGISTRY as an argument", line, s)}
			}
			name = targets[0].host + "/" + strings.TrimPrefix(s, "/")
		}
		if _, err := trust.ParseRef(name); err != nil {
			return cmdutil.UsageError{Err: fmt.Errorf("--repos line %d: %w", line, err)}
		}
		if !add(name) {
			return nil
		}
	}
	return sc.Err()
}
