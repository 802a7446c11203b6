package keystore

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"

	"github.com/acrtrust/docker-acrtrust/internal/capped"
	"github.com/acrtrust/docker-acrtrust/internal/keyid"
)

// KeyNotFoundError: no key in the store has the ID (or ID prefix).
type KeyNotFoundError struct{ ID, Dir string }

func (e *KeyNotFoundError) Error() string {
	return fmt.Sprintf("no key with ID %s in %s", e.ID, e.Dir)
}

// minIDPrefix is the shortest ID prefix accepted: what Docker prints.
const minIDPrefix = 7

// Find returns the key whose ID is id, or the only one starting with id
// (at least 7 characters, as Docker shows them).
func Find(trustDir, id string) (Key, error) {
	keys, err := List(trustDir)
	if err != nil {
		return Key{}, err
	}
	var matches []Key
	for _, k := range keys {
		if k.ID == id {
			return k, nil
		}
		if len(id) >= minIDPrefix && strings.HasPrefix(k.ID, id) {
			matches = append(matches, k)
		}
	}
	switch len(matches) {
	case 0:
		return Key{}, &KeyNotFoundError{ID: id, Dir: PrivateDir(trustDir)}
	case 1:
		return matches[0], nil
	}
	ids := make([]string, len(matches))
	for i, m := range matches {
		ids[i] = m.ID
	}
	return Key{}, fmt.Errorf("key ID %s is ambiguous: %s", id, strings.Join(ids, ", "))
}

// ChangePassphrase re-encrypts the key id (see Find) with a new
// passphrase: current gives the present one (asked as for an existing key
// of its role), next the new one (asked as for a new key). Role and gun
// headers are kept; the file is replaced atomically, mode 0600, and read
// back with the new passphrase before ChangePassphrase returns.
func ChangePassphrase(trustDir, id string, current, next notary.PassRetriever) (Key, error) {
	if err := CheckWritable(trustDir); err != nil {
		return Key{}, err
	}
	k, err := Find(trustDir, id)
	if err != nil {
		return Key{}, err
	}
	fi, err := os.Lstat(k.File)
	if err != nil {
		return k, err
	}
	if !fi.Mode().IsRegular() {
		return k, fmt.Errorf("changing the passphrase of key %s: %s is not a regular file", k.ID, k.File)
	}
	b, err := capped.ReadFile(k.File, maxKeyFileSize)
	if err != nil {
		return k, fmt.Errorf("reading key %s: %w", k.ID, err)
	}
	block, err := keyBlock(b)
	if err != nil {
		return k, fmt.Errorf("reading key %s: %w", k.ID, err)
	}
	role, gun, err := utils.ExtractPrivateKeyAttributes(b)
	if err != nil {
		return k, fmt.Errorf("reading key %s: %w", k.ID, err)
	}
	if role == "" {
		role = data.RoleName(k.Role)
	}
	key, err := decryptKeyBlock(block, current, k.ID, role.String())
	if err != nil {
		var wrong *WrongPassphraseError
		if errors.As(err, &wrong) && wrong.KeyID == "" {
			wrong.KeyID = k.ID
		}
		return k, fmt.Errorf("decrypting the %s key %s: %w", role, keyid.Short(k.ID), err)
	}
	if key.ID() != k.ID && !strings.HasPrefix(k.ID, key.ID()+"_") {
		return k, fmt.Errorf("key file %s holds key %s, not %s", k.File, key.ID(), k.ID)
	}
	pass, err := newPassphrase(next, k.ID, role)
	if err != nil {
		return k, err
	}
	pemBytes, err := utils.ConvertPrivateKeyToPKCS8(key, role, gun, pass)
	if err != nil {
		return k, fmt.Errorf("encrypting key %s: %w", keyid.Short(k.ID), err)
	}
	if err := writeFileAtomic(k.File, pemBytes); err != nil {
		return k, err
	}
	if err := verifyStored(k.File, key.ID(), role, gun, pass); err != nil {
		return k, err
	}
	k.Encrypted, k.Problem = true, ""
	return k, nil
}

// FixedRetriever gives pass, which came from source (SourceStdin), once:
// asked again it gives up with a *WrongPassphraseError naming the key.
// For a new key it refuses a passphrase shorter than MinPassphraseLength.
func FixedRetriever(pass, source string) notary.PassRetriever {
	return func(keyName, alias string, createNew bool, numAttempts int) (string, bool, error) {
		if numAttempts > 0 {
			return "", true, &WrongPassphraseError{Source: source, Role: alias, KeyID: keyName}
		}
		if createNew {
			if err := checkNewPassphrase(pass); err != nil {
				return "", true, err
			}
		}
		return pass, false, nil
	}
}
