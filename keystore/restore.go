package keystore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/acrtrust/docker-acrtrust/internal/capped"
)

// ArchiveError says why an archive was rejected. Nothing was written.
type ArchiveError struct {
	// Entry is the offending entry's name; empty for the archive as a whole.
	Entry  string
	Reason string
}

func (e *ArchiveError) Error() string {
	if e.Entry == "" {
		return "archive rejected, nothing restored: " + e.Reason
	}
	return fmt.Sprintf("archive rejected, nothing restored: entry %q: %s", e.Entry, e.Reason)
}

// ConflictError lists files that exist with other content. Nothing was
// written.
type ConflictError struct{ Files []string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("nothing restored: %d file(s) already exist with different content: %s", len(e.Files), strings.Join(e.Files, ", "))
}

// RestoreOptions says how to restore.
type RestoreOptions struct {
	// Overwrite replaces existing files whose content differs from the
	// archive's (--force). Without it such files stop the restore.
	Overwrite bool
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	// Keys are the key files of the archive, where they now are.
	Keys []Key
	// Restored are the keys of Keys that this restore wrote (new, or
	// replaced with Overwrite); the others were already there with the
	// archive's content, and were left as they were.
	Restored []Key
	// Written, Replaced and Unchanged are the files (archive names) that
	// were new, that replaced different content, and that were already
	// there as they are in the archive.
	Written, Replaced, Unchanged []string
	// MetadataFiles counts trust/tuf files in the archive.
	MetadataFiles int
}

type archiveFile struct {
	name   string // archive name, trust/...
	target string // path on disk
	data   []byte
}

// Restore restores a Backup archive (or one made by hand with
// `tar czf backup.tar.gz -C $DOCKER_CONFIG trust/private`) into trustDir.
//
// It reads and checks the whole archive before writing anything: only
// folders and regular files, only under trust/private and trust/tuf, no
// absolute names, no "..", no links or devices, at most 64 KiB per key
// file, 32 MiB per metadata file and 128 MiB in all, and every file in
// trust/private a private key PEM named <id>.key. A rejected archive gives
// an *ArchiveError; existing files with other content give a
// *ConflictError unless opts.Overwrite. In both cases nothing is written.
// Files are written 0600 in 0700 folders, each atomically.
func Restore(trustDir string, r io.Reader, opts RestoreOptions) (RestoreResult, error) {
	var res RestoreResult
	files, dirs, err := checkedArchive(trustDir, r)
	if err != nil {
		return res, err
	}
	var conflicts []string
	var toWrite []archiveFile
	for _, f := range files {
		fi, err := os.Lstat(f.target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			toWrite = append(toWrite, f)
			res.Written = append(res.Written, f.name)
		case err != nil:
			return res, fmt.Errorf("restoring %q: %w", f.target, err)
		case !fi.Mode().IsRegular():
			return res, fmt.Errorf("restoring %q: %w", f.target, &ArchiveError{Entry: f.name, Reason: "the target exists and is not a regular file"})
		default:
			old, err := os.ReadFile(f.target)
			if err != nil {
				return res, fmt.Errorf("restoring %q: %w", f.target, err)
			}
			switch {
			case bytes.Equal(old, f.data):
				res.Unchanged = append(res.Unchanged, f.name)
			case opts.Overwrite:
				toWrite = append(toWrite, f)
				res.Replaced = append(res.Replaced, f.name)
			default:
				conflicts = append(conflicts, f.name)
			}
		}
	}
	if len(conflicts) > 0 {
		return RestoreResult{}, &ConflictError{Files: conflicts}
	}
	for _, d := range dirs {
		if err := ensurePrivateDir(d); err != nil {
			return res, err
		}
	}
	// Stage every file, then move them all into place, so that a failure
	// while writing (a full disk) leaves no half-restored key store.
	staged := make([]string, 0, len(toWrite))
	cleanup := func() {
		for _, s := range staged {
			_ = os.Remove(s)
		}
	}
	for _, f := range toWrite {
		tmp, err := stageFile(filepath.Dir(f.target), f.data)
		if err != nil {
			cleanup()
			return RestoreResult{}, fmt.Errorf("restoring %q: %w", f.target, err)
		}
		staged = append(staged, tmp)
	}
	for i, f := range toWrite {
		if err := os.Rename(staged[i], f.target); err != nil {
			cleanup()
			return res, fmt.Errorf("restoring %q: %w", f.target, err)
		}
	}
	err = res.readKeys(files, toWrite)
	return res, err
}

// readKeys fills Keys, Restored and MetadataFiles from the archive's files
// as they now are on disk; written are the files this restore wrote.
func (res *RestoreResult) readKeys(files, written []archiveFile) error {
	wrote := make(map[string]bool, len(written))
	for _, f := range written {
		wrote[f.name] = true
	}
	for _, f := range files {
		if !strings.HasPrefix(f.name, ArchivePrivateDir+"/") {
			res.MetadataFiles++
			continue
		}
		fi, err := os.Lstat(f.target)
		if err != nil {
			return fmt.Errorf("restoring %q: %w", f.target, err)
		}
		k := readKeyFile(f.target, fs.FileInfoToDirEntry(fi))
		res.Keys = append(res.Keys, k)
		if wrote[f.name] {
			res.Restored = append(res.Restored, k)
		}
	}
	sortKeys(res.Keys)
	sortKeys(res.Restored)
	return nil
}

// readArchive reads and checks the whole archive: it returns the files
// and the folders (on disk, parents first) to create, or an *ArchiveError.
func readArchive(trustDir string, r io.Reader) ([]archiveFile, []string, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, reject("", "not a gzip file: %v", err)
	}
	// The tar reader sees at most the caps plus headers and padding, so a
	// small archive that inflates to gigabytes stops early.
	limited := &capped.Reader{R: gz, Left: maxArchiveTotal + (maxArchiveEntries+2)*1024}
	ar := &archiveReader{trustDir: trustDir, tr: tar.NewReader(limited), dirSet: map[string]bool{}, seen: map[string]bool{}}
	for {
		hdr, err := ar.tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if limited.Exceeded {
				return nil, nil, reject("", "larger than %d bytes uncompressed", maxArchiveTotal)
			}
			return nil, nil, reject("", "not a valid tar.gz: %v", err)
		}
		if err := ar.add(hdr); err != nil {
			return nil, nil, err
		}
	}
	// The gzip checksum is only checked at the end of the stream.
	if _, err := io.Copy(io.Discard, limited); err != nil {
		if limited.Exceeded {
			return nil, nil, reject("", "larger than %d bytes uncompressed", maxArchiveTotal)
		}
		return nil, nil, reject("", "corrupt gzip data: %v", err)
	}
	return ar.result()
}

// reject is an *ArchiveError for entry ("" for the whole archive).
func reject(entry, format string, args ...any) error {
	return &ArchiveError{Entry: entry, Reason: fmt.Sprintf(format, args...)}
}

// archiveReader checks a backup archive entry by entry.
type archiveReader struct {
	trustDir string
	tr       *tar.Reader
	files    []archiveFile
	dirSet   map[string]bool // folders to create
	seen     map[string]bool // entry names
	total    int64
	entries  int
}

// add checks the entry hdr (and reads its content from the tar reader).
func (ar *archiveReader) add(hdr *tar.Header) error {
	ar.entries++
	if ar.entries > maxArchiveEntries {
		return reject("", "more than %d entries", maxArchiveEntries)
	}
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return reject(hdr.Name, "%v", err)
	}
	if ar.seen[name] {
		return reject(hdr.Name, "appears twice")
	}
	ar.seen[name] = true
	scope := entryScope(name)
	if scope == scopeNone {
		return reject(hdr.Name, "outside %s and %s", ArchivePrivateDir, ArchiveMetadataDir)
	}
	target := filepath.Join(ar.trustDir, filepath.FromSlash(strings.TrimPrefix(name, "trust")))
	switch hdr.Typeflag {
	case tar.TypeDir:
		if scope != scopeParent {
			ar.dirSet[target] = true
		}
		return nil
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archivers write TypeRegA
	default:
		return reject(hdr.Name, "is a %s; only regular files and folders are restored", typeName(hdr.Typeflag))
	}
	if scope == scopeParent {
		return reject(hdr.Name, "is a file where a folder is expected")
	}
	limit := int64(maxMetadataFile)
	if scope == scopePrivate {
		limit = maxKeyFileSize
	}
	if hdr.Size < 0 || hdr.Size > limit {
		return reject(hdr.Name, "is %d bytes, more than the %d allowed", hdr.Size, limit)
	}
	ar.total += hdr.Size
	if ar.total > maxArchiveTotal {
		return reject("", "larger than %d bytes uncompressed", maxArchiveTotal)
	}
	data, err := capped.ReadAll(ar.tr, limit)
	if err != nil || int64(len(data)) != hdr.Size {
		return reject(hdr.Name, "truncated: %v", err)
	}
	if scope == scopePrivate {
		err = checkKeyEntry(path.Base(name), data)
	} else {
		err = checkMetadataEntry(name, data)
	}
	if err != nil {
		return reject(hdr.Name, "%v", err)
	}
	ar.files = append(ar.files, archiveFile{name: name, target: target, data: data})
	for d := filepath.Dir(target); len(d) > len(ar.trustDir); d = filepath.Dir(d) {
		ar.dirSet[d] = true
	}
	return nil
}

// result checks the archive as a whole and returns its files and the
// folders to create, parents before children.
func (ar *archiveReader) result() ([]archiveFile, []string, error) {
	keys := 0
	for _, f := range ar.files {
		if ar.dirSet[f.target] {
			return nil, nil, reject(f.name, "is both a file and a folder")
		}
		if entryScope(f.name) == scopePrivate {
			keys++
		}
	}
	if keys == 0 {
		return nil, nil, reject("", "no key files under %s", ArchivePrivateDir)
	}
	dirs := make([]string, 0, len(ar.dirSet))
	for d := range ar.dirSet {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs) // parents before children
	return ar.files, dirs, nil
}

// checkedArchive is readArchive into a key store that keys may be written
// to (CheckWritable).
func checkedArchive(trustDir string, r io.Reader) ([]archiveFile, []string, error) {
	if err := CheckWritable(trustDir); err != nil {
		return nil, nil, err
	}
	return readArchive(trustDir, r)
}
