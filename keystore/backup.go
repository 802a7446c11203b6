package keystore

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/acrtrust/docker-acrtrust/internal/capped"
)

// DefaultBackupName is the backup file name for time t:
// acrtrust-keys-YYYYMMDD-HHMMSS.tar.gz.
func DefaultBackupName(t time.Time) string {
	return "acrtrust-keys-" + t.Format("20060102-150405") + ".tar.gz"
}

// BackupOptions says what goes into a backup.
type BackupOptions struct {
	// IncludeMetadata adds the TUF metadata cache (trust/tuf): the trusted
	// roots of the repositories this machine has seen. Keys alone suffice
	// to sign; the cache keeps trust-on-first-use pins across machines.
	IncludeMetadata bool
}

// Skipped is a file left out of a backup, and why.
type Skipped struct {
	Path   string
	Reason string
}

// BackupResult says what a backup holds.
type BackupResult struct {
	// Keys are the key files in the archive.
	Keys []Key
	// MetadataFiles counts files from trust/tuf.
	MetadataFiles int
	// Skipped lists files not archived: not key files, links, too large.
	Skipped []Skipped
}

// ErrNoKeys: there is nothing to back up.
var ErrNoKeys = errors.New("no private keys to back up")

// ExistsError: a file that would be overwritten exists.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string { return fmt.Sprintf("%s already exists", e.Path) }

// Is makes errors.Is(err, fs.ErrExist) true.
func (e *ExistsError) Is(target error) bool { return target == fs.ErrExist }

// Backup writes a gzip-compressed tar of trustDir's private keys (and,
// with IncludeMetadata, its TUF cache) to w. Entries are trust/private/...
// and trust/tuf/..., folders 0700 and files 0600; only regular files are
// archived, and in trust/private only files that are private key PEM, so
// that every archive Backup writes passes Restore's checks.
func Backup(trustDir string, w io.Writer, opts BackupOptions) (BackupResult, error) {
	var res BackupResult
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	keys, err := List(trustDir)
	if err != nil {
		return res, err
	}
	byFile := map[string]Key{}
	for _, k := range keys {
		byFile[k.File] = k
	}
	ar := archiver{tw: tw, res: &res}
	err = ar.addTree(PrivateDir(trustDir), ArchivePrivateDir, func(p string, b []byte) (bool, string) {
		if err := checkKeyEntry(path.Base(filepath.ToSlash(p)), b); err != nil {
			return false, err.Error()
		}
		k, ok := byFile[p]
		if !ok {
			k = Key{ID: strings.TrimSuffix(filepath.Base(p), keyExt), File: p}
		}
		res.Keys = append(res.Keys, k)
		return true, ""
	})
	if err != nil {
		return res, fmt.Errorf("archiving %q: %w", PrivateDir(trustDir), err)
	}
	if len(res.Keys) == 0 {
		return res, fmt.Errorf("archiving %q: %w", PrivateDir(trustDir), ErrNoKeys)
	}
	sortKeys(res.Keys)
	if opts.IncludeMetadata {
		err = ar.addTree(MetadataDir(trustDir), ArchiveMetadataDir, func(p string, b []byte) (bool, string) {
			if err := checkMetadataEntry(filepath.ToSlash(p), b); err != nil {
				return false, err.Error()
			}
			res.MetadataFiles++
			return true, ""
		})
		if err != nil {
			return res, fmt.Errorf("archiving %q: %w", MetadataDir(trustDir), err)
		}
	}
	if err := tw.Close(); err != nil {
		return res, fmt.Errorf("writing the archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return res, fmt.Errorf("writing the archive: %w", err)
	}
	return res, nil
}

// archiver writes folders into a backup archive.
type archiver struct {
	tw  *tar.Writer
	res *BackupResult // Skipped is appended to
}

// addTree archives the regular files below dir as prefix/..., each one
// that file accepts (it says why not); dir may be missing.
func (a archiver) addTree(dir, prefix string, file func(p string, b []byte) (bool, string)) error {
	dir = resolveDir(dir)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := path.Join(prefix, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return a.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(DirPerm), ModTime: info.ModTime()})
		case !d.Type().IsRegular():
			a.res.Skipped = append(a.res.Skipped, Skipped{Path: p, Reason: "not a regular file"})
			return nil
		}
		b, err := capped.ReadFile(p, capFor(name))
		if err != nil {
			a.res.Skipped = append(a.res.Skipped, Skipped{Path: p, Reason: err.Error()})
			return nil
		}
		if ok, why := file(p, b); !ok {
			a.res.Skipped = append(a.res.Skipped, Skipped{Path: p, Reason: why})
			return nil
		}
		if err := a.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(FilePerm), Size: int64(len(b)), ModTime: info.ModTime()}); err != nil {
			return err
		}
		_, err = a.tw.Write(b)
		return err
	})
}

// BackupToFile writes Backup's archive to file atomically: into a
// temporary file (mode 0600) in file's folder, then moved into place. It
// never replaces an existing file unless overwrite is true.
func BackupToFile(trustDir, file string, overwrite bool, opts BackupOptions) (BackupResult, error) {
	if _, err := os.Lstat(file); err == nil && !overwrite {
		return BackupResult{}, &ExistsError{Path: file}
	}
	f, err := os.CreateTemp(filepath.Dir(file), ".acrtrust-keys-*.tmp")
	if err != nil {
		return BackupResult{}, fmt.Errorf("writing backup %q: %w", file, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once moved into place
	res, err := func() (BackupResult, error) {
		defer f.Close()
		if err := f.Chmod(FilePerm); err != nil {
			return BackupResult{}, err
		}
		res, err := Backup(trustDir, f, opts)
		if err != nil {
			return res, err
		}
		if err := f.Sync(); err != nil {
			return res, err
		}
		return res, f.Close()
	}()
	if err != nil {
		return res, fmt.Errorf("writing backup %q: %w", file, err)
	}
	if overwrite {
		err = os.Rename(tmp, file)
	} else {
		// A hard link fails if file appeared in the meantime, where a
		// rename would silently replace it.
		err = os.Link(tmp, file)
		if errors.Is(err, fs.ErrExist) {
			return res, &ExistsError{Path: file}
		}
		if err != nil { // file systems without hard links
			if _, lerr := os.Lstat(file); lerr == nil {
				return res, &ExistsError{Path: file}
			}
			err = os.Rename(tmp, file)
		}
	}
	if err != nil {
		return res, fmt.Errorf("writing backup %q: %w", file, err)
	}
	return res, nil
}
