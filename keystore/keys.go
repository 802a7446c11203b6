package keystore

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
	"github.com/youmark/pkcs8"

	"github.com/acrtrust/docker-acrtrust/internal/keyid"
)

// validName is Docker's rule for key and signer names.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9\_\-]*$`).MatchString

// reservedNames would turn a signer key into a repository role's key (a key
// named "root" becomes a root key that new repositories pick up).
var reservedNames = map[string]bool{
	data.CanonicalRootRole.String():      true,
	data.CanonicalTargetsRole.String():   true,
	data.CanonicalSnapshotRole.String():  true,
	data.CanonicalTimestampRole.String(): true,
	"releases":                           true,
}

// CheckName returns Docker's error for a key name that is not
// ^[a-z0-9][a-z0-9\_\-]*$, and refuses the names of repository roles.
func CheckName(name string) error {
	if !validName(name) {
		return fmt.Errorf("key name \"%s\" must start with lowercase alphanumeric characters and can include \"-\" or \"_\" after the first character", name)
	}
	if reservedNames[name] {
		return fmt.Errorf("key name %q is reserved for a repository role, use a different signer name", name)
	}
	return nil
}

// ErrNotPrivateKey: the input holds no private key notary can use (a
// public key, a certificate, anything else).
var ErrNotPrivateKey = errors.New("not a supported private key")

// keyBlockTypes are the PEM types notary reads as private keys.
var keyBlockTypes = map[string]bool{
	"PRIVATE KEY":           true,
	"ENCRYPTED PRIVATE KEY": true,
	"RSA PRIVATE KEY":       true,
	"EC PRIVATE KEY":        true,
	"ED25519 PRIVATE KEY":   true,
}

// keyBlock returns the one private key PEM block in pemBytes. An
// "EC PARAMETERS" block (written before the key by `openssl ecparam
// -genkey`) and certificates are skipped.
func keyBlock(pemBytes []byte) (*pem.Block, error) {
	var found []*pem.Block
	for b, rest := pem.Decode(pemBytes); b != nil; b, rest = pem.Decode(rest) {
		if keyBlockTypes[b.Type] {
			found = append(found, b)
		}
	}
	switch len(found) {
	case 0:
		return nil, ErrNotPrivateKey
	case 1:
		return found[0], nil
	default:
		return nil, fmt.Errorf("the file holds %d private keys; load one key per file", len(found))
	}
}

func isEncrypted(b *pem.Block) bool {
	//nolint:staticcheck // IsEncryptedPEMBlock is how notary itself tells legacy encrypted PEM.
	return b.Type == "ENCRYPTED PRIVATE KEY" || x509.IsEncryptedPEMBlock(b)
}

// parseKeyBlock decodes b with pass ("" for an unencrypted key). A
// passphrase that does not decrypt b gives errWrongPassphrase.
func parseKeyBlock(b *pem.Block, pass string) (data.PrivateKey, error) {
	clean := &pem.Block{Type: b.Type, Bytes: b.Bytes, Headers: map[string]string{}}
	for _, h := range []string{"Proc-Type", "DEK-Info"} {
		if v, ok := b.Headers[h]; ok {
			clean.Headers[h] = v
		}
	}
	if !isEncrypted(b) {
		k, err := utils.ParsePEMPrivateKey(pem.EncodeToMemory(clean), "")
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotPrivateKey, err)
		}
		return k, nil
	}
	k, err := utils.ParsePEMPrivateKey(pem.EncodeToMemory(clean), pass)
	if err == nil {
		return k, nil
	}
	if b.Type != "ENCRYPTED PRIVATE KEY" {
		return nil, errWrongPassphrase
	}
	// Notary decrypts only the PBES2 variant it writes (PBKDF2 with
	// HMAC-SHA1, AES-256-CBC) and mistakes any other, such as OpenSSL 3's
	// default HMAC-SHA256, for a wrong passphrase. youmark/pkcs8 reads every
	// PBES2 variant (PBKDF2 or scrypt, AES-CBC or GCM); the key it yields is
	// handed back to notary's own parser.
	key, err := pkcs8.ParsePKCS8PrivateKey(b.Bytes, []byte(pass))
	if err != nil {
		if strings.Contains(err.Error(), "incorrect password") {
			return nil, errWrongPassphrase
		}
		return nil, fmt.Errorf("%w (encrypted PKCS#8 with PBES2 is supported; convert with `openssl pkcs8 -topk8 -v2 aes256`)", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPrivateKey, err)
	}
	k, err = utils.ParsePKCS8ToTufKey(der, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPrivateKey, err)
	}
	return k, nil
}

// errWrongPassphrase: the passphrase does not decrypt the key.
var errWrongPassphrase = errors.New("wrong passphrase")

// maxPassphraseAttempts is notary's bound on asking again.
const maxPassphraseAttempts = 10

// decryptKeyBlock asks retriever for b's passphrase (as keyName, alias)
// until it decrypts b or the retriever gives up.
func decryptKeyBlock(b *pem.Block, retriever notary.PassRetriever, keyName, alias string) (data.PrivateKey, error) {
	if !isEncrypted(b) {
		return parseKeyBlock(b, "")
	}
	for attempt := 0; ; attempt++ {
		pass, giveup, err := retriever(keyName, alias, false, attempt)
		switch {
		case errors.Is(err, passphrase.ErrTooManyAttempts):
			return nil, &WrongPassphraseError{Source: SourceTerminal, Role: alias, KeyID: keyName}
		case err != nil:
			return nil, err
		case giveup:
			return nil, &WrongPassphraseError{Source: "the passphrase source", Role: alias, KeyID: keyName}
		}
		k, err := parseKeyBlock(b, pass)
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, errWrongPassphrase) {
			return nil, err
		}
		if attempt >= maxPassphraseAttempts {
			return nil, &WrongPassphraseError{Source: "the passphrase source", Role: alias, KeyID: keyName}
		}
	}
}

// newPassphrase asks retriever for the passphrase of a new key, as
// notary's key store does (createNew, asked again after a refusal).
func newPassphrase(retriever notary.PassRetriever, id string, role data.RoleName) (string, error) {
	for attempt := 0; ; attempt++ {
		pass, giveup, err := retriever(id, role.String(), true, attempt)
		if err == nil && pass != "" {
			return pass, nil
		}
		if err == nil {
			err = errors.New("an empty passphrase would leave the key unencrypted")
		}
		if giveup || attempt >= maxPassphraseAttempts || errors.Is(err, ErrNoPassphraseSource) {
			return "", fmt.Errorf("choosing a passphrase for the new %s key %s: %w", role, keyid.Short(id), err)
		}
	}
}

// gunFor is the gun header notary keeps for a role: only the repository's
// own roles carry one; root and signer keys serve every repository.
func gunFor(role data.RoleName, gun data.GUN) data.GUN {
	if role == data.CanonicalRootRole || data.IsDelegation(role) || !data.ValidRole(role) {
		return ""
	}
	return gun
}

// storeKey encrypts key with a new passphrase from retriever into
// <trustDir>/private/<id>.key, in notary's format (encrypted PKCS#8 with
// role and gun headers, what Docker wrote), atomically and 0600 in a 0700
// folder, then reads it back to prove the store now holds it.
func storeKey(trustDir string, key data.PrivateKey, role data.RoleName, gun data.GUN, retriever notary.PassRetriever) (string, error) {
	if err := CheckWritable(trustDir); err != nil {
		return "", err
	}
	gun = gunFor(role, gun)
	id := key.ID()
	pass, err := newPassphrase(retriever, id, role)
	if err != nil {
		return "", err
	}
	pemBytes, err := utils.ConvertPrivateKeyToPKCS8(key, role, gun, pass)
	if err != nil {
		return "", fmt.Errorf("encrypting key %s: %w", keyid.Short(id), err)
	}
	if err := ensurePrivateDir(PrivateDir(trustDir)); err != nil {
		return "", err
	}
	path := KeyFile(trustDir, id)
	if err := writeFileAtomic(path, pemBytes); err != nil {
		return "", err
	}
	if err := verifyStored(path, id, role, gun, pass); err != nil {
		return "", err
	}
	return path, nil
}

// verifyStored checks that path holds key id for role and gun, decrypts
// with pass and is private to its owner.
func verifyStored(path, id string, role data.RoleName, gun data.GUN, pass string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("verifying stored key %s: %s", keyid.Short(id), fmt.Sprintf(format, args...))
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail("%v", err)
	}
	if fi.Mode().Perm() != FilePerm {
		return fail("mode is %v, not %v", fi.Mode().Perm(), FilePerm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fail("%v", err)
	}
	gotRole, gotGUN, err := utils.ExtractPrivateKeyAttributes(b)
	if err != nil {
		return fail("%v", err)
	}
	if gotRole != role || gotGUN != gun {
		return fail("stored as role %q gun %q, not %q %q", gotRole, gotGUN, role, gun)
	}
	if !bytes.Contains(b, []byte("ENCRYPTED PRIVATE KEY")) {
		return fail("stored unencrypted")
	}
	k, err := utils.ParsePEMPrivateKey(b, pass)
	if err != nil {
		return fail("does not decrypt: %v", err)
	}
	if k.ID() != id {
		return fail("decrypts to key %s", keyid.Short(k.ID()))
	}
	return nil
}
