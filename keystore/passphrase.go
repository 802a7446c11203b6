package keystore

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/moby/term"
	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/tuf/data"

	"github.com/acrtrust/docker-acrtrust/internal/keyid"
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
	// Done, when non-nil, returns a channel that closes when the command is
	// interrupted (Ctrl-C): a prompt waiting then gives up with
	// ErrPromptInterrupted and puts the terminal back as it found it.
	Done func() <-chan struct{}
}

// ErrPromptInterrupted: the command was interrupted while it waited for a
// passphrase.
var ErrPromptInterrupted = errors.New("interrupted while waiting for a key passphrase")

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
// Like Docker's, it takes a passphrase from the environment whatever its
// length (Sources.ShortEnv lets the caller warn about a short one).
//
// A passphrase from the environment that turns out wrong is tried once more
// (as Docker did) and then given up, so a wrong variable fails fast instead
// of looping.
//
// Notary replaces the retriever's error with its own "password invalid";
// the returned lastErr function gives back the retriever's own reason (which
// variable, which key), or nil, so that the plugin can say what to fix.
func Retriever(env Env, p Prompter) (retriever notary.PassRetriever, lastErr func() error) {
	return RetrieverFrom(Sources{Env: env, Prompter: p})
}

// Sources are where a command's passphrases come from.
type Sources struct {
	// Env holds the passphrases from the environment.
	Env Env
	// Stdin is a passphrase the user piped in (--passphrase-stdin); empty
	// means none. When set it is the passphrase of every key the command
	// creates, and of an encrypted key file being loaded (alias
	// AliasEncryptedFile); existing keys in the store still take theirs
	// from Env or the terminal.
	Stdin string
	// Prompter asks on a terminal when nothing else gave a passphrase.
	Prompter Prompter
	// ShortEnv, when non-nil, is called once for each new key whose
	// passphrase comes from the environment and is shorter than
	// MinPassphraseLength. Docker and notary took such passphrases from
	// their variables without a check, so the key is made all the same
	// (pipelines that worked keep working); the caller warns.
	ShortEnv func(*ShortEnvPassphrase)
}

// ShortEnvPassphrase is a new key protected by a passphrase from the
// environment that is shorter than MinPassphraseLength: made, as Docker
// made it, but weaker than the terminal and --passphrase-stdin allow.
type ShortEnvPassphrase struct {
	// Variable is the environment variable the passphrase came from.
	Variable string
	// Role is the key's role as notary names it: root, targets, a signer name.
	Role string
	// KeyID is the new key's ID.
	KeyID string
}

func (w *ShortEnvPassphrase) Error() string {
	return fmt.Sprintf("the passphrase in %s is shorter than %d characters; the new %s key %s is protected by it all the same, as Docker did",
		w.Variable, MinPassphraseLength, w.Role, keyid.Short(w.KeyID))
}

// AliasEncryptedFile is the alias under which the passphrase of an
// encrypted key file being loaded is asked ("Enter passphrase for encrypted
// key:"), as Docker's key load did.
const AliasEncryptedFile = "encrypted"

// RetrieverFrom is Retriever with a passphrase from stdin as well: s.Stdin
// comes first for new keys and for the file being loaded, then the
// environment, then the terminal.
func RetrieverFrom(s Sources) (retriever notary.PassRetriever, lastErr func() error) {
	var (
		prompt notary.PassRetriever
		mu     sync.Mutex
		last   error
	)
	env, p := s.Env, s.Prompter
	if p.IsTerminal && p.In != nil && p.Out != nil {
		prompt = passphrase.PromptRetrieverWithInOut(p.In, p.Out, aliasMap)
	}
	record := func(err error) error {
		mu.Lock()
		defer mu.Unlock()
		last = err
		return err
	}
	warned := map[string]bool{}
	warnShort := func(pass, alias, keyName string) {
		if s.ShortEnv == nil || checkNewPassphrase(pass) == nil {
			return
		}
		mu.Lock()
		first := !warned[keyName]
		warned[keyName] = true
		mu.Unlock()
		if first {
			s.ShortEnv(&ShortEnvPassphrase{Variable: envVariable(alias), Role: alias, KeyID: keyName})
		}
	}
	retriever = func(keyName, alias string, createNew bool, numAttempts int) (string, bool, error) {
		if s.Stdin != "" && (createNew || alias == AliasEncryptedFile) {
			if numAttempts > 0 {
				return "", true, record(&WrongPassphraseError{Source: SourceStdin, Role: alias, KeyID: keyName})
			}
			if createNew {
				if err := checkNewPassphrase(s.Stdin); err != nil {
					return "", true, record(err)
				}
			}
			return s.Stdin, false, nil
		}
		if pass := envPassphrase(env, alias); pass != "" {
			if numAttempts > 1 {
				return "", true, record(wrongEnvPassphrase(alias, keyName))
			}
			if createNew {
				warnShort(pass, alias, keyName)
			}
			return pass, false, nil
		}
		if prompt == nil {
			return "", true, record(ErrNoPassphraseSource)
		}
		pass, giveup, err := interruptible(p, prompt)(keyName, alias, createNew, numAttempts)
		switch {
		case errors.Is(err, ErrPromptInterrupted):
			record(err)
		case errors.Is(err, passphrase.ErrTooManyAttempts):
			record(&WrongPassphraseError{Source: SourceTerminal, Role: alias, KeyID: keyName})
		case err != nil:
			record(fmt.Errorf("reading the passphrase for the %s key %s: %w", alias, keyid.Short(keyName), err))
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

// interruptible runs prompt so that p.Done ends the wait: the read that
// notary's prompt blocks in cannot be cancelled, so it is left behind, and
// the terminal state it changed (echo off) is restored here.
func interruptible(p Prompter, prompt notary.PassRetriever) notary.PassRetriever {
	if p.Done == nil {
		return prompt
	}
	return func(keyName, alias string, createNew bool, numAttempts int) (string, bool, error) {
		var restore func()
		if f, ok := p.In.(interface{ FD() uintptr }); ok {
			if state, err := term.SaveState(f.FD()); err == nil {
				restore = func() { _ = term.RestoreTerminal(f.FD(), state) }
			}
		}
		type answer struct {
			pass   string
			giveup bool
			err    error
		}
		got := make(chan answer, 1)
		go func() {
			pass, giveup, err := prompt(keyName, alias, createNew, numAttempts)
			got <- answer{pass, giveup, err}
		}()
		select {
		case a := <-got:
			return a.pass, a.giveup, a.err
		case <-p.Done():
			if restore != nil {
				restore()
			}
			_, _ = fmt.Fprintln(p.Out)
			return "", true, ErrPromptInterrupted
		}
	}
}

func envPassphrase(env Env, alias string) string {
	if alias == data.CanonicalRootRole.String() {
		return env.RootPassphrase
	}
	return env.RepositoryPassphrase
}

// Where a passphrase came from, for WrongPassphraseError.Source.
const (
	SourceStdin    = "stdin"
	SourceTerminal = "the terminal"
)

// WrongPassphraseError says which key (ID and role) a passphrase failed to
// decrypt, and where that passphrase came from.
type WrongPassphraseError struct {
	// Variable is the environment variable the passphrase came from, if any.
	Variable string
	// Source says where it came from otherwise (SourceStdin, SourceTerminal).
	Source string
	// Role is the key's role as notary names it: root, targets, a signer name,
	// or AliasEncryptedFile for a key file being loaded.
	Role string
	// KeyID is the key's ID; empty for a key file not yet loaded.
	KeyID string
}

func (e *WrongPassphraseError) Error() string {
	what := "the " + e.Role + " key"
	if e.KeyID != "" {
		what += " " + keyid.Short(e.KeyID)
	}
	switch {
	case e.Variable != "":
		return "the passphrase in " + e.Variable + " does not decrypt " + what
	case e.Source == SourceTerminal:
		return "the passphrases entered on the terminal do not decrypt " + what
	default:
		return "the passphrase from " + e.Source + " does not decrypt " + what
	}
}

// maxPassphraseLine bounds a passphrase line read from stdin.
const maxPassphraseLine = 4096

// ReadPassphrases reads n passphrases from r, one per line, for
// --passphrase-stdin. Only the line ending ("\n" or "\r\n") is removed:
// every other byte is part of the passphrase. It reads one byte at a time,
// so nothing after the n-th line is consumed. An empty line, or fewer than n
// lines, is an error.
func ReadPassphrases(r io.Reader, n int) ([]string, error) {
	out := make([]string, 0, n)
	var (
		line []byte
		b    [1]byte
	)
	for len(out) < n {
		k, err := r.Read(b[:])
		if k == 1 {
			if b[0] != '\n' {
				if len(line) >= maxPassphraseLine {
					return nil, fmt.Errorf("reading passphrases from stdin: line %d is longer than %d bytes", len(out)+1, maxPassphraseLine)
				}
				line = append(line, b[0])
				continue
			}
		} else if err == nil {
			continue
		} else if !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading passphrases from stdin: %w", err)
		} else if len(line) == 0 {
			return nil, fmt.Errorf("reading passphrases from stdin: expected %d line(s), got %d", n, len(out))
		}
		p := strings.TrimSuffix(string(line), "\r")
		if p == "" {
			return nil, fmt.Errorf("reading passphrases from stdin: line %d is empty", len(out)+1)
		}
		out = append(out, p)
		line = line[:0]
		if err != nil { // EOF right after a last line without "\n"
			break
		}
	}
	if len(out) < n {
		return nil, fmt.Errorf("reading passphrases from stdin: expected %d line(s), got %d", n, len(out))
	}
	return out, nil
}

// MinPassphraseLength is the shortest passphrase accepted for a new key,
// notary's rule for prompted passphrases.
const MinPassphraseLength = 8

// ErrPassphraseTooShort is returned for a new passphrase under MinPassphraseLength.
var ErrPassphraseTooShort = fmt.Errorf("the passphrase for a new key must be at least %d characters", MinPassphraseLength)

func checkNewPassphrase(p string) error {
	if len(p) < MinPassphraseLength {
		return ErrPassphraseTooShort
	}
	return nil
}

func wrongEnvPassphrase(alias, keyName string) error {
	return &WrongPassphraseError{Variable: envVariable(alias), Role: alias, KeyID: keyName}
}

// envVariable names the variable that holds the passphrase of alias's keys.
func envVariable(alias string) string {
	if alias == data.CanonicalRootRole.String() {
		return EnvRootPassphrase
	}
	return EnvRepositoryPassphrase
}
