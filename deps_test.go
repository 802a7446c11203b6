package acrtrust_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection keeps the layering of docs/architecture.md: cmd ->
// plugin -> groups -> {plugin/internal/cmdutil, plugin/internal/explain} ->
// {trust, keystore, notationbridge}. The library packages never reach
// cobra, the docker CLI command packages or the plugin; groups never reach
// the root command package or each other; cmdutil never reaches explain or
// a command; nothing but tests and its own command reaches the sandbox;
// the test helper packages (trust/trusttest, plugin/internal/cmdtest) are
// for _test.go files only (ggcr cmd/crane/depcheck_test.go does the same).
func TestImportDirection(t *testing.T) {
	const mod = "github.com/acrtrust/docker-acrtrust/"
	const (
		root    = mod + "plugin"
		cmdutil = mod + "plugin/internal/cmdutil"
		explain = mod + "plugin/internal/explain"
	)
	groups := []string{"key", "signer", "pin", "audit", "doctor", "migrate"}
	// A forbidden entry matches the package and everything below it; one
	// that starts with "=" matches that package only.
	forbidden := map[string][]string{
		mod + "trust":               {"github.com/spf13/cobra", "github.com/docker/cli/cli/command", root, mod + "keystore", mod + "sandbox"},
		mod + "keystore":            {"github.com/spf13/cobra", "github.com/docker/cli/cli/command", root, mod + "trust", mod + "sandbox"},
		mod + "notationbridge":      {"github.com/spf13/cobra", "github.com/docker/cli/cli/command", root, mod + "keystore", mod + "trust", mod + "sandbox"},
		mod + "imagecopy":           {"github.com/spf13/cobra", "github.com/docker/cli/cli/command", root, mod + "keystore", mod + "trust", mod + "notationbridge", mod + "sandbox"},
		root:                        {mod + "sandbox", "github.com/theupdateframework/notary/server"},
		mod + "cmd/docker-acrtrust": {mod + "sandbox", "github.com/theupdateframework/notary/server", "github.com/google/go-containerregistry/pkg/registry"},
		cmdutil:                     {"=" + root, explain, mod + "sandbox"},
		explain:                     {"=" + root, mod + "sandbox"},
	}
	for _, g := range groups {
		bad := []string{"=" + root, mod + "sandbox", "github.com/theupdateframework/notary/server"}
		for _, other := range groups {
			if other != g {
				bad = append(bad, root+"/"+other)
			}
		}
		forbidden[root+"/"+g] = bad
		forbidden[cmdutil] = append(forbidden[cmdutil], root+"/"+g)
		forbidden[explain] = append(forbidden[explain], root+"/"+g)
	}

	// Test helper packages are for _test.go files only.
	for pkg := range forbidden {
		forbidden[pkg] = append(forbidden[pkg], mod+"trust/trusttest", mod+"plugin/internal/cmdtest")
	}
	// One go list for every package: Deps is the transitive closure.
	args := []string{"list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}"}
	for pkg := range forbidden {
		args = append(args, pkg)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	depsOf := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		depsOf[f[0]] = f[1:]
	}
	for pkg, bad := range forbidden {
		t.Run(strings.TrimPrefix(pkg, mod), func(t *testing.T) {
			deps, ok := depsOf[pkg]
			if !ok {
				t.Fatalf("go list did not list %s", pkg)
			}
			for _, b := range bad {
				b, exact := strings.CutPrefix(b, "=")
				for _, d := range deps {
					if d == b || (!exact && strings.HasPrefix(d, b+"/")) {
						t.Errorf("%s must not depend on %s (found %s)", pkg, b, d)
					}
				}
			}
		})
	}
}
