package keystore

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// GenerateOptions says what key to generate.
type GenerateOptions struct {
	// Name is the signer name; it becomes the key's role, as with Docker's
	// `trust key generate`. Required; see CheckName.
	Name string
	// PublicDir is the folder that gets <Name>.pub. Required.
	PublicDir string
}

// Generated describes a new key.
type Generated struct {
	ID             string
	PrivateKeyFile string
	PublicKeyFile  string
}

// Generate creates an ECDSA P-256 signing key named opts.Name in
// trustDir's key store (its passphrase from retriever, as a new key) and
// writes the public key, PEM with a role header, to
// <PublicDir>/<Name>.pub: what Docker's `trust key generate` did, in the
// same formats. It never overwrites an existing public key file.
func Generate(trustDir string, opts GenerateOptions, retriever notary.PassRetriever) (Generated, error) {
	if err := CheckGenerate(opts); err != nil {
		return Generated{}, err
	}
	pubPath := filepath.Join(opts.PublicDir, opts.Name+".pub")
	key, err := utils.GenerateKey(data.ECDSAKey)
	if err != nil {
		return Generated{}, fmt.Errorf("generating key for %s: %w", opts.Name, err)
	}
	role := data.RoleName(opts.Name)
	privPath, err := storeKey(trustDir, key, role, "", retriever)
	if err != nil {
		return Generated{}, fmt.Errorf("generating key for %s: %w", opts.Name, err)
	}
	pub := pem.EncodeToMemory(&pem.Block{
		Type:    "PUBLIC KEY",
		Headers: map[string]string{"role": opts.Name},
		Bytes:   data.PublicKeyFromPrivate(key).Public(),
	})
	if err := writeNew(pubPath, pub, notary.PrivNoExecPerms); err != nil {
		// A private key without its public half is of no use to anyone.
		_ = os.Remove(privPath)
		return Generated{}, fmt.Errorf("failed to write public key to %s: %w", pubPath, err)
	}
	return Generated{ID: key.ID(), PrivateKeyFile: privPath, PublicKeyFile: pubPath}, nil
}

// CheckGenerate returns Docker's errors for options Generate would refuse:
// an invalid name, a missing public key folder, an existing public key file.
func CheckGenerate(opts GenerateOptions) error {
	if err := CheckName(opts.Name); err != nil {
		return err
	}
	if _, err := os.Stat(opts.PublicDir); err != nil {
		return fmt.Errorf("public key path does not exist: \"%s\"", opts.PublicDir)
	}
	pubPath := filepath.Join(opts.PublicDir, opts.Name+".pub")
	if _, err := os.Lstat(pubPath); err == nil {
		return fmt.Errorf("public key file already exists: \"%s\"", pubPath)
	}
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("public key file already exists: \"%s\"", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	return f.Close()
}
