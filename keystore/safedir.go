package keystore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrUnsafeDir is matched (errors.Is) by an *UnsafeDirError.
var ErrUnsafeDir = errors.New("key store folder not private to its owner")

// UnsafeDirError is a key store folder (the trust directory or its private
// folder) that keys must not be written to: others can write to it, so they
// could swap or plant key files, or it is a symbolic link that leads out of
// the trust directory, so keys would land where nobody looks after them.
type UnsafeDirError struct {
	// Path is the folder as the key store names it.
	Path string
	// Mode is its permission bits, when others can write to it.
	Mode os.FileMode
	// Target is where a symbolic link Path leads, when it leads out of
	// the trust directory.
	Target string
}

func (e *UnsafeDirError) Error() string {
	if e.Target != "" {
		return fmt.Sprintf("key store folder %s is a symbolic link to %s, outside the trust directory: keys are not written through it", e.Path, e.Target)
	}
	return fmt.Sprintf("key store folder %s can be written by others (mode %v): keys are not written to it", e.Path, e.Mode.Perm())
}

// Is makes errors.Is(err, ErrUnsafeDir) true.
func (e *UnsafeDirError) Is(target error) bool { return target == ErrUnsafeDir }

// Fix is the command that makes the folder safe: chmod 700 for a folder
// others can write to; for a link, to move the real folder in its place.
func (e *UnsafeDirError) Fix() string {
	if e.Target != "" {
		return fmt.Sprintf("rm %s && mv %s %s", e.Path, e.Target, e.Path)
	}
	return "chmod 700 " + e.Path
}

// CheckWritable checks that keys may be written under trustDir: neither
// trustDir nor <trustDir>/private can be written by others, and private,
// if it is a symbolic link, stays inside trustDir (issue 21). Folders that
// do not exist yet are fine: they are made private. It returns an
// *UnsafeDirError, and changes nothing; every write to the key store calls
// it first, and doctor reports it.
func CheckWritable(trustDir string) error {
	for _, dir := range []string{trustDir, PrivateDir(trustDir)} {
		if err := checkDir(trustDir, dir); err != nil {
			return err
		}
	}
	return nil
}

func checkDir(trustDir, dir string) error {
	li, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking key store folder %q: %w", dir, err)
	}
	if li.Mode()&os.ModeSymlink != 0 && dir != trustDir {
		target, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return fmt.Errorf("checking key store folder %q: %w", dir, err)
		}
		root, err := filepath.EvalSymlinks(trustDir)
		if err != nil {
			return fmt.Errorf("checking key store folder %q: %w", trustDir, err)
		}
		if !within(root, target) {
			return &UnsafeDirError{Path: dir, Target: target}
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("checking key store folder %q: %w", dir, err)
	}
	if runtime.GOOS != "windows" && fi.IsDir() && fi.Mode().Perm()&0o022 != 0 {
		return &UnsafeDirError{Path: dir, Mode: fi.Mode()}
	}
	return nil
}

// within reports whether path is root or under it (both resolved).
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
