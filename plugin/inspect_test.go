package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/acrtrust/docker-acrtrust/trust"
	"github.com/acrtrust/docker-acrtrust/trust/trusttest"
)

// The fixtures are repositories with fixed trust data, the same as
// docker/cli's test notary repositories, so that inspect's output can be
// held against docker's own golden files.
const fixtureGUN = "docker.io/library/signed-repo"

func fixtureTarget(name string, role data.RoleName) client.TargetSignedStruct {
	return trusttest.SignedIn(name, name+"-digest", role)
}

var fixtureAdminRoles = []client.RoleWithSignatures{
	{Role: trusttest.Role(data.CanonicalRootRole, "rootID")},
	{Role: trusttest.Role(data.CanonicalTargetsRole, "targetsID")},
}

// withSignersFixture: red signed by releases, alice and bob; blue by
// releases and alice; green by releases only.
func withSignersFixture() *trusttest.Repo {
	alice, bob := trust.SignerRole("alice"), trust.SignerRole("bob")
	return &trusttest.Repo{
		GUN: fixtureGUN,
		Targets: []client.TargetSignedStruct{
			fixtureTarget("red", trust.ReleasesRole), fixtureTarget("red", alice), fixtureTarget("red", bob),
			fixtureTarget("blue", trust.ReleasesRole), fixtureTarget("blue", alice),
			fixtureTarget("green", trust.ReleasesRole),
		},
		Roles: append(append([]client.RoleWithSignatures{}, fixtureAdminRoles...),
			client.RoleWithSignatures{Role: trusttest.Role(alice, "A")},
			client.RoleWithSignatures{Role: trusttest.Role(bob, "B")},
			client.RoleWithSignatures{Role: trusttest.Role(trust.ReleasesRole, "A", "B"), Signatures: []data.Signature{{KeyID: "A"}}},
		),
		Delegations: []data.Role{trusttest.Role(alice, "A"), trusttest.Role(bob, "B"), trusttest.Role(trust.ReleasesRole, "A", "B")},
	}
}

// noSignersFixture: green signed into targets, no delegations.
func noSignersFixture() *trusttest.Repo {
	return &trusttest.Repo{
		GUN:     fixtureGUN,
		Targets: []client.TargetSignedStruct{fixtureTarget("green", data.CanonicalTargetsRole)},
		Roles:   fixtureAdminRoles,
	}
}

func emptyFixture() *trusttest.Repo {
	return &trusttest.Repo{GUN: fixtureGUN, Roles: fixtureAdminRoles}
}

func uninitializedFixture() *trusttest.Repo {
	r := trusttest.NoTrustData()
	r.GUN = fixtureGUN
	return r
}

// TestInspectGolden holds the output against docker's: the golden files
// under testdata/inspect-*.golden are byte for byte docker/cli v28.5.2's
// cli/command/trust/testdata/trust-inspect-*.golden for the same data.
func TestInspectGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		repo    func() *trusttest.Repo
		args    []string
		golden  string
		wantErr string
	}{
		{name: "empty repo", repo: emptyFixture, args: []string{"reg/img:unsigned-tag"}, golden: "inspect-empty-repo.golden"},
		{name: "full repo no signers", repo: noSignersFixture, args: []string{"signed-repo"}, golden: "inspect-full-repo-no-signers.golden"},
		{name: "one tag no signers", repo: noSignersFixture, args: []string{"signed-repo:green"}, golden: "inspect-one-tag-no-signers.golden"},
		{name: "full repo with signers", repo: withSignersFixture, args: []string{"signed-repo"}, golden: "inspect-full-repo-with-signers.golden"},
		{name: "multiple repos", repo: withSignersFixture, args: []string{"signed-repo", "signed-repo"}, golden: "inspect-multiple-repos-with-signers.golden"},
		{name: "unsigned tag with signers", repo: withSignersFixture, args: []string{"signed-repo:unsigned"}, golden: "inspect-unsigned-tag-with-signers.golden"},
		{name: "uninitialized", repo: uninitializedFixture, args: []string{"reg/unsigned-img"}, golden: "inspect-uninitialized.golden",
			wantErr: "no signatures or cannot access reg/unsigned-img"},
		{name: "pretty full repo no signers", repo: noSignersFixture, args: []string{"--pretty", "signed-repo"}, golden: "inspect-pretty-full-repo-no-signers.golden"},
		{name: "pretty full repo with signers", repo: withSignersFixture, args: []string{"--pretty", "signed-repo"}, golden: "inspect-pretty-full-repo-with-signers.golden"},
		{name: "pretty one tag no signers", repo: noSignersFixture, args: []string{"--pretty", "signed-repo:green"}, golden: "inspect-pretty-one-tag-no-signers.golden"},
		{name: "pretty unsigned tag with signers", repo: withSignersFixture, args: []string{"--pretty", "signed-repo:unsigned"}, golden: "inspect-pretty-unsigned-tag-with-signers.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			d := cmdtest.NewTestDeps(t, cli, nil)
			var opened []bool
			d.OpenRepo = func(_ context.Context, _ trust.Ref, write bool) (trust.Repository, error) {
				opened = append(opened, write)
				return tc.repo(), nil
			}
			err := runCommand(t, d, append([]string{"inspect"}, tc.args...)...)
			if tc.wantErr != "" {
				assert.Check(t, is.ErrorContains(err, tc.wantErr))
				assert.Check(t, is.Equal(exitCode(t, err), 1))
			} else {
				assert.NilError(t, err)
			}
			golden.Assert(t, cli.OutBuf.String(), tc.golden)
			for _, w := range opened {
				assert.Check(t, !w, "inspect only reads: the token must not ask for push")
			}
		})
	}
}

func TestInspectArguments(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		code    int
	}{
		{name: "no argument", args: []string{"inspect"}, wantErr: "requires at least 1 argument"},
		{name: "digest reference", args: []string{"inspect", "reg.example/app@sha256:" + strings.Repeat("a", 64)}, wantErr: "cannot use a digest reference for IMAGE:TAG", code: 1},
		{name: "invalid reference", args: []string{"inspect", "ALPINE"}, wantErr: "parsing reference", code: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			d := cmdtest.NewTestDeps(t, cli, nil)
			d.OpenRepo = func(context.Context, trust.Ref, bool) (trust.Repository, error) {
				t.Fatal("no repository may be opened on bad input")
				return nil, nil
			}
			err := runCommand(t, d, tc.args...)
			assert.Check(t, is.ErrorContains(err, tc.wantErr))
			if tc.code != 0 {
				assert.Check(t, is.Equal(exitCode(t, err), tc.code))
			}
		})
	}
}

func TestInspectPrettySeparatesReferences(t *testing.T) {
	cli := cmdtest.NewFakeCLI(t, "")
	d := cmdtest.NewTestDeps(t, cli, nil)
	d.OpenRepo = func(context.Context, trust.Ref, bool) (trust.Repository, error) { return noSignersFixture(), nil }
	assert.NilError(t, runCommand(t, d, "inspect", "--pretty", "signed-repo:green", "signed-repo"))
	one := "\nSignatures for %s\n\nSIGNED TAG   DIGEST                     SIGNERS\ngreen        677265656e2d646967657374   (Repo Admin)\n\n" +
		"Administrative keys for %s\n\n  Repository Key:\ttargetsID\n  Root Key:\trootID\n"
	want := fmt.Sprintf(one, "signed-repo:green", "signed-repo:green") + "\n\n" + fmt.Sprintf(one, "signed-repo", "signed-repo")
	assert.Equal(t, cli.OutBuf.String(), want)
}

// TestInspectStdoutOnFailure: a script reading inspect's stdout must not
// mistake a typo for an empty answer. When no argument is a valid
// reference nothing is printed; otherwise docker's behaviour holds: the
// arguments that could be read are printed (an empty array when none
// could), and the errors follow.
func TestInspectStdoutOnFailure(t *testing.T) {
	unreachable := errors.New("connection refused")
	for _, tc := range []struct {
		name    string
		args    []string
		wantOut string
		wantErr []string
	}{
		{name: "invalid reference", args: []string{"ALPINE"}, wantErr: []string{"parsing reference"}},
		{name: "digest reference", args: []string{"reg.example/app@sha256:" + strings.Repeat("a", 64)},
			wantErr: []string{"cannot use a digest reference for IMAGE:TAG"}},
		{name: "two invalid references", args: []string{"ALPINE", "Bad:Ref:x"},
			wantErr: []string{"parsing reference"}},
		{name: "invalid and valid", args: []string{"ALPINE", "signed-repo:green"},
			wantOut: "[\n    {\n        \"Name\": \"signed-repo:green\",", wantErr: []string{"parsing reference"}},
		{name: "valid but unreachable", args: []string{"unreachable/app"}, wantOut: "[]\n",
			wantErr: []string{"error establishing connection to trust repository", "connection refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			d := cmdtest.NewTestDeps(t, cli, nil)
			d.OpenRepo = func(_ context.Context, ref trust.Ref, _ bool) (trust.Repository, error) {
				if strings.HasPrefix(ref.Original, "unreachable") {
					return nil, unreachable
				}
				return noSignersFixture(), nil
			}
			err := runCommand(t, d, append([]string{"inspect"}, tc.args...)...)
			for _, want := range tc.wantErr {
				assert.Check(t, is.ErrorContains(err, want))
			}
			assert.Check(t, is.Equal(exitCode(t, err), 1))
			if tc.wantOut == "" {
				assert.Check(t, is.Equal(cli.OutBuf.String(), ""))
			} else {
				assert.Check(t, strings.HasPrefix(cli.OutBuf.String(), tc.wantOut), "stdout: %q", cli.OutBuf.String())
			}
		})
	}
}
