package keystore

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/theupdateframework/notary/tuf/utils"
)

// The archive that Backup writes and Restore reads: its layout, its
// limits and the checks every entry passes, on either side.

// Paths inside a backup archive: what `tar czf backup.tar.gz -C
// $DOCKER_CONFIG trust/private` produces, so that archives made by hand
// restore with Restore and ours restore by hand.
const (
	ArchivePrivateDir  = "trust/private"
	ArchiveMetadataDir = "trust/tuf"
)

// Limits on what Restore reads from an archive. Real key files are under
// 4 KiB and real trust metadata a few MiB; anything bigger is not a backup.
const (
	maxArchiveEntries = 10_000
	maxMetadataFile   = 32 << 20
	maxArchiveTotal   = 128 << 20
)

// keyFileName: <64 hex>.key, or notary's legacy <id>_<role>.key.
var keyFileName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}(_[a-z0-9_\-]+)?\.key$`) }) // compiled on first use, not at start-up

// cleanEntryName returns name without a leading "./" and a trailing "/",
// or an error for names that could land outside the target folder or are
// not in canonical form.
func cleanEntryName(name string) (string, error) {
	n := strings.TrimPrefix(name, "./")
	n = strings.TrimSuffix(n, "/")
	switch {
	case n == "":
		return "", errors.New("empty name")
	case strings.HasPrefix(n, "/") || filepath.IsAbs(n) || filepath.VolumeName(n) != "":
		return "", errors.New("absolute path")
	case strings.ContainsAny(n, "\\\x00"):
		return "", errors.New("backslash or NUL in the name")
	}
	for _, part := range strings.Split(n, "/") {
		switch part {
		case "..":
			return "", errors.New(`".." in the path`)
		case ".", "":
			return "", errors.New("not a clean path")
		}
	}
	return n, nil
}

type scope int

const (
	scopeNone    scope = iota
	scopeParent        // trust, trust/private, trust/tuf themselves
	scopePrivate       // under trust/private
	scopeMeta          // under trust/tuf
)

func entryScope(name string) scope {
	switch {
	case name == "trust", name == ArchivePrivateDir, name == ArchiveMetadataDir:
		return scopeParent
	case strings.HasPrefix(name, ArchivePrivateDir+"/"):
		return scopePrivate
	case strings.HasPrefix(name, ArchiveMetadataDir+"/"):
		return scopeMeta
	}
	return scopeNone
}

// capFor is the largest file archived under name.
func capFor(name string) int64 {
	if strings.HasPrefix(name, ArchivePrivateDir+"/") {
		return maxKeyFileSize
	}
	return maxMetadataFile
}

// checkKeyEntry: a key file is <id>.key and a private key PEM with the
// attributes notary reads (one key, role header, known format).
func checkKeyEntry(base string, data []byte) error {
	if !keyFileName().MatchString(base) {
		return errors.New("not a key file name (<64 hex digits>.key)")
	}
	if _, err := keyBlock(data); err != nil {
		return fmt.Errorf("not a private key PEM: %w", err)
	}
	role, _, err := utils.ExtractPrivateKeyAttributes(data)
	if err != nil {
		return fmt.Errorf("not a private key PEM: %w", err)
	}
	if role == "" && !strings.Contains(base, "_") {
		return errors.New("private key PEM without a role header")
	}
	return nil
}

// checkMetadataEntry: cached TUF metadata must at least be JSON.
func checkMetadataEntry(name string, data []byte) error {
	if strings.HasSuffix(name, ".json") && strings.Contains(name, "/metadata/") && !json.Valid(data) {
		return errors.New("trust metadata that is not JSON")
	}
	return nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "named pipe"
	case tar.TypeGNUSparse:
		return "sparse file"
	}
	return fmt.Sprintf("entry of type %q", t)
}
