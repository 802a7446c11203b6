package acrtrust_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection keeps the layering of docs/architecture.md: cmd ->
// plugin -> {trust, keystore}. The library packages never reach cobra, the
// docker CLI command packages or the plugin; nothing but tests and its own
// command reaches the sandbox; trust/trusttest is for _test.go files only
// (ggcr cmd/crane/depcheck_test.go does the same).
func TestImportDirection(t *testing.T) {
	const mod = "github.com/acrtrust/docker-acrtrust/"
	forbidden := map[string][]string{
		mod + "trust":               {"github.com/spf13/cobra", "github.com/docker/cli/cli/command", mod + "plugin", mod + "keystore", mod + "sandbox"},
		mod + "keystore":            {"github.com/spf13/cobra", "github.com/docker/cli/cli/command", mod + "plugin", mod + "trust", mod + "sandbox"},
		mod + "notationbridge":      {"github.com/spf13/cobra", "github.com/docker/cli/cli/command", mod + "plugin", mod + "keystore", mod + "trust", mod + "sandbox"},
		mod + "imagecopy":           {"github.com/spf13/cobra", "github.com/docker/cli/cli/command", mod + "plugin", mod + "keystore", mod + "trust", mod + "notationbridge", mod + "sandbox"},
		mod + "plugin":              {mod + "sandbox", "github.com/theupdateframework/notary/server"},
		mod + "cmd/docker-acrtrust": {mod + "sandbox", "github.com/theupdateframework/notary/server", "github.com/google/go-containerregistry/pkg/registry"},
	}

	// Test helper packages are for _test.go files only.
	for pkg := range forbidden {
		forbidden[pkg] = append(forbidden[pkg], mod+"trust/trusttest")
	}
	for pkg, bad := range forbidden {
		t.Run(strings.TrimPrefix(pkg, mod), func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
			}
			deps := map[string]bool{}
			for _, d := range strings.Fields(string(out)) {
				deps[d] = true
			}
			for _, b := range bad {
				for d := range deps {
					if d == b || strings.HasPrefix(d, b+"/") {
						t.Errorf("%s must not depend on %s (found %s)", pkg, b, d)
					}
				}
			}
		})
	}
}
