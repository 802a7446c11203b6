package keystore

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/tuf/data"
)

// Environment variable names for passphrases, as Docker content trust used them.
const (
	EnvRootPassphrase       = "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE"
	EnvRepositoryPassphrase = "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"
)

// ErrNoPassphraseSource is returned when a passphrase is needed but neither
// the environment nor a terminal can provide one. It names the variables so
// that a pipeline author knows what to set.
var ErrNoPassphraseSource = errors.New("a key passphrase is needed but stdin is not a terminal: set " +
	EnvRootPassphrase + " (root key) and " + EnvRepositoryPassphrase +
	" (repository and signer keys), or run in a terminal")

// Env holds the passphrases given through the environment. An empty field
// means "not given".
type Env struct {
	RootPassphrase       string
	RepositoryPassphrase string
}

// EnvFromLookup reads Env with getenv (usually os.Getenv), once, in the plugin.
func EnvFromLookup(getenv func(string) string) Env {
	return Env{
		RootPassphrase:       getenv(EnvRootPassphrase),
		RepositoryPassphrase: getenv(EnvRepositoryPassphrase),
	}
}

// Prompter is where interactive passphrases come from. A zero Prompter (or
// one whose IsTerminal is false) never prompts: Docker's prompt retriever
// read lines from a non-terminal stdin and hung pipelines that left it open.
type Prompter struct {
	In         io.Reader
	Out        io.Writer
	IsTerminal bool
}

// aliasMap names TUF roles the way Docker's prompts did ("Enter passphrase
// for new repository key with ID ...").
var aliasMap = map[string]string{
	"root":     "root",
	"snapshot": "repository",
	"targets":  "repository",
	"default":  "repository",
}

// Retriever returns a notary.PassRetriever that takes passphrases from env
// first (root for the root key, repository for every other key, delegation
// keys included), and otherwise prompts on p, hidden, with notary's rules:
// new keys twice, at least 8 characters, three tries for existing keys.
//
// A passphrase from the environment that turns out wrong is tried once more
// (as Docker did) and then given up, so a wrong variable fails fast instead
// of looping.
//
// Notary replaces the retriever's error with its own "password invalid";
// the returned lastErr function gives back the retriever's own reason (which
// variable, which key), or nil, so that the plugin can say what to fix.
func Retriever(env Env, p Prompter) (retriever notary.PassRetriever, lastErr func() error) {
	var (
		prompt notary.PassRetriever
		mu     sync.Mutex
		last   error
	)
	if p.IsTerminal && p.In != nil && p.Out != nil {
		prompt = passphrase.PromptRetrieverWithInOut(p.In, p.Out, aliasMap)
	}
	record := func(err error) error {
		mu.Lock()
		defer mu.Unlock()
		last = err
		return err
	}
	retriever = func(keyName, alias string, createNew bool, numAttempts int) (string, bool, error) {
		if pass := envPassphrase(env, alias); pass != "" {
			if numAttempts > 1 {
				return "", true, record(wrongEnvPassphrase(alias, keyName))
			}
			return pass, false, nil
		}
		if prompt == nil {
			return "", true, record(ErrNoPassphraseSource)
		}
		pass, giveup, err := prompt(keyName, alias, createNew, numAttempts)
		if err != nil {
			record(fmt.Errorf("reading the passphrase for the %s key %s: %w", alias, shortID(keyName), err))
		}
		return pass, giveup, err
	}
	lastErr = func() error {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
	return retriever, lastErr
}

func envPassphrase(env Env, alias string) string {
	if alias == data.CanonicalRootRole.String() {
		return env.RootPassphrase
	}
	return env.RepositoryPassphrase
}

// WrongPassphraseError says which key a passphrase from the environment
// failed to decrypt.
type WrongPassphraseError struct {
	Variable string
	Role     string
	KeyID    string
}

func (e *WrongPassphraseError) Error() string {
	return "the passphrase in " + e.Variable + " does not decrypt the " + e.Role + " key " + shortID(e.KeyID)
}

func wrongEnvPassphrase(alias, keyName string) error {
	v := EnvRepositoryPassphrase
	if alias == data.CanonicalRootRole.String() {
		v = EnvRootPassphrase
	}
	return &WrongPassphraseError{Variable: v, Role: alias, KeyID: keyName}
}

func shortID(id string) string {
	if len(id) > 7 {
		return id[:7]
	}
	return id
}
