package keystore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// DefaultLoadName is the role of a loaded key whose file does not name
// one, as Docker's `trust key load --name` defaulted.
const DefaultLoadName = "signer"

// LoadOptions says how to load a key file.
type LoadOptions struct {
	// Name is the role given to a key whose PEM has no "role" header;
	// empty means DefaultLoadName. A role header in the file wins, so that
	// a root or repository key exported by notary loads as what it is.
	Name string
}

// Loaded describes a key after Load.
type Loaded struct {
	ID   string
	Role data.RoleName
	GUN  data.GUN
	// File is the key's file in the store.
	File string
	// Existed is true when the store already held this key with this role;
	// nothing was written then.
	Existed bool
}

// Load imports the private key in pemBytes into trustDir's key store.
//
// It accepts PKCS#8, EC and RSA PEM, encrypted or not (an "EC PARAMETERS"
// block before the key is skipped). An encrypted input is decrypted with
// the passphrase retriever gives for AliasEncryptedFile; the stored copy is
// encrypted with the passphrase retriever gives for a new key of its role
// (for a signer key that is the repository passphrase, as with Docker).
// Unlike Docker's `trust key load`, which could report success having
// written nothing, Load either returns the ID of a key that it has read
// back from the store, or an error. Input that holds no private key gives
// an error matching ErrNotPrivateKey.
func Load(trustDir string, pemBytes []byte, opts LoadOptions, retriever notary.PassRetriever) (Loaded, error) {
	b, err := keyBlock(pemBytes)
	if err != nil {
		return Loaded{}, err
	}
	role := data.RoleName(b.Headers["role"])
	if role == "" {
		name := opts.Name
		if name == "" {
			name = DefaultLoadName
		}
		if err := CheckName(name); err != nil {
			return Loaded{}, err
		}
		role = data.RoleName(name)
	}
	gun := gunFor(role, data.GUN(b.Headers["gun"]))
	if data.ValidRole(role) && !data.IsDelegation(role) && role != data.CanonicalRootRole && gun == "" {
		return Loaded{}, fmt.Errorf("loading a %s key: the file has no gun header, so the repository it belongs to is unknown", role)
	}
	key, err := decryptKeyBlock(b, retriever, "", AliasEncryptedFile)
	if err != nil {
		return Loaded{}, fmt.Errorf("decrypting the key: %w", err)
	}
	res := Loaded{ID: key.ID(), Role: role, GUN: gun, File: KeyFile(trustDir, key.ID())}
	switch existing, err := os.ReadFile(res.File); {
	case err == nil:
		gotRole, gotGUN, err := utils.ExtractPrivateKeyAttributes(existing)
		if err != nil || gotRole != role || gotGUN != gun {
			return res, fmt.Errorf("key %s is already in the key store as %s, not as %s: remove %s first to load it again", res.ID, describeRole(gotRole, gotGUN), describeRole(role, gun), res.File)
		}
		res.Existed = true
		return res, nil
	case !errors.Is(err, fs.ErrNotExist):
		return res, fmt.Errorf("reading key %s: %w", res.ID, err)
	}
	if _, err := storeKey(trustDir, key, role, gun, retriever); err != nil {
		return res, err
	}
	return res, nil
}

func describeRole(role data.RoleName, gun data.GUN) string {
	if role == "" {
		return "an unreadable key"
	}
	if gun != "" {
		return fmt.Sprintf("the %s key of %s", role, gun)
	}
	return fmt.Sprintf("a %s key", role)
}
