package cmdutil

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
)

// EnvSign is the default of --sign.
const EnvSign = "ACRTRUST_SIGN"

// The signature formats a command that signs can make (--sign).
const (
	SignDCT      = "dct"      // content trust: the tag, in the repository's trust data (the default)
	SignNotation = "notation" // a Notation signature on the digest, an OCI referrer; no trust server involved
	SignBoth     = "both"     // content trust published once, and a Notation signature per new digest
)

// SignOptions are the flags of every command that signs (push, sign, build
// --push, refresh): the formats, and the Notation key.
type SignOptions struct {
	Sign            string
	Key             NotationKeyOptions
	SignatureFormat string
	NotationDir     string
}

// AddSignFlags adds --sign, the Notation key flags, --signature-format and
// --notation-dir. A command that already has --notation-dir (for --require:
// the same directory holds the trust policy) keeps its own; it copies the
// value into o.NotationDir.
func AddSignFlags(flags *pflag.FlagSet, o *SignOptions) {
	flags.StringVar(&o.Sign, "sign", "", `Signature formats: "dct" (content trust), "notation", or "both" (default $`+EnvSign+`, else "dct")`)
	AddNotationKeyFlags(flags, &o.Key)
	flags.StringVar(&o.SignatureFormat, "signature-format", notationbridge.FormatJWS, `Notation signature envelope format: "jws" or "cose"`)
	if flags.Lookup("notation-dir") == nil {
		flags.StringVar(&o.NotationDir, "notation-dir", "", "Notation's configuration directory: its signingkeys.json default key signs when no key flag is given, plugins are found in it (default notation's own, $XDG_CONFIG_HOME/notation)")
	}
}

// SignMode is --sign, else ACRTRUST_SIGN, else dct. Notation key flags
// without Notation signing are refused: they would be silently unused.
func (d *Deps) SignMode(o SignOptions) (string, error) {
	m, from := o.Sign, "--sign"
	if m == "" {
		m, from = d.Getenv(EnvSign), EnvSign
	}
	switch m {
	case "":
		m = SignDCT
	case SignDCT, SignNotation, SignBoth:
	default:
		return "", UsageError{fmt.Errorf("invalid %s %q: use dct, notation or both", from, m)}
	}
	if _, err := notationbridge.MediaType(o.SignatureFormat); err != nil {
		return "", UsageError{fmt.Errorf("invalid --signature-format: %w", err)}
	}
	if m == SignDCT && o.Key.Given() {
		return "", UsageError{errors.New("--key, --cert, --plugin, --id and --key-name name a Notation key: add --sign notation or --sign both to sign with it")}
	}
	return m, nil
}

// SignsDCT reports whether mode signs with content trust.
func SignsDCT(mode string) bool { return mode == SignDCT || mode == SignBoth }

// SignsNotation reports whether mode signs with Notation.
func SignsNotation(mode string) bool { return mode == SignNotation || mode == SignBoth }

// Args are the flags that sign the same way again in mode, for a command
// that a remedy prints (the default signature format and directory are
// left out).
func (o SignOptions) Args(mode string) []string {
	args := []string{"--sign", mode}
	if !SignsNotation(mode) {
		return args
	}
	args = append(args, o.Key.Args()...)
	if o.SignatureFormat != "" && o.SignatureFormat != notationbridge.FormatJWS {
		args = append(args, "--signature-format", o.SignatureFormat)
	}
	if o.NotationDir != "" {
		args = append(args, "--notation-dir", o.NotationDir)
	}
	return args
}
