package plugin

import (
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestSuggestCommands: a mistyped command is a usage error (exit 125)
// that names the command meant, at the top level and in the key and
// signer groups; nothing is run.
func TestSuggestCommands(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		unknown string   // the command path and the word not understood
		suggest []string // exactly these, in this order; nil: no suggestion
	}{
		{name: "pull", args: []string{"pul"}, unknown: "acrtrust pul", suggest: []string{"pull"}},
		{name: "verify", args: []string{"verfy", "reg.example/app"}, unknown: "acrtrust verfy", suggest: []string{"verify"}},
		{name: "sign", args: []string{"sgn"}, unknown: "acrtrust sgn", suggest: []string{"sign"}},
		{name: "the nearest of several", args: []string{"p"}, unknown: "acrtrust p", suggest: []string{"pin"}},
		{name: "two as near", args: []string{"pusl"}, unknown: "acrtrust pusl", suggest: []string{"pull", "push"}},
		{name: "key list", args: []string{"key", "lst"}, unknown: "acrtrust key lst", suggest: []string{"list"}},
		{name: "key generate", args: []string{"key", "gen"}, unknown: "acrtrust key gen", suggest: []string{"generate"}},
		{name: "signer add", args: []string{"signer", "ad"}, unknown: "acrtrust signer ad", suggest: []string{"add"}},
		{name: "nothing close", args: []string{"xyzzy"}, unknown: "acrtrust xyzzy"},
		{name: "nothing close in a group", args: []string{"key", "xyzzy"}, unknown: "acrtrust key xyzzy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			d := cmdtest.NewTestDeps(t, cli, nil)
			err := runCommand(t, d, tc.args...)
			assert.Assert(t, err != nil)
			assert.Check(t, is.Equal(exitCode(t, err), 125))
			assert.Check(t, is.ErrorContains(err, "acrtrust: unknown command: "+tc.unknown))
			msg := err.Error()
			if tc.suggest == nil {
				assert.Check(t, !strings.Contains(msg, "Did you mean"), msg)
			} else {
				assert.Check(t, is.Contains(msg, "\n\nDid you mean this?\n\t"+strings.Join(tc.suggest, "\n\t")+"\n\nUsage:"))
			}
			path := tc.unknown[:strings.LastIndexByte(tc.unknown, ' ')]
			assert.Check(t, is.Contains(msg, "Run '"+path+" --help' for more information"))
			assert.Check(t, is.Equal(cli.OutBuf.String(), ""))
		})
	}
}
