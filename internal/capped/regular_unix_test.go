//go:build unix

package capped

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestReadRegularFile: a FIFO with no writer, a device that never ends and
// a folder are refused at once (a FIFO must not block: this test would
// hang), a file over the limit is refused, a symbolic link to a regular
// file is read.
func TestReadRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	assert.NilError(t, syscall.Mkfifo(fifo, 0o600))
	regular := filepath.Join(dir, "pins.json")
	assert.NilError(t, os.WriteFile(regular, []byte("12345"), 0o600))
	link := filepath.Join(dir, "link")
	assert.NilError(t, os.Symlink(regular, link))

	for _, tc := range []struct {
		name, path, want string
	}{
		{"a FIFO", fifo, "is a named pipe (FIFO), not a regular file"},
		{"a device", "/dev/zero", "is a device, not a regular file"},
		{"a folder", dir, "is a folder, not a file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadRegularFile(tc.path, 1<<20)
			var nr *NotRegularError
			assert.Assert(t, errors.As(err, &nr), "%v", err)
			assert.Check(t, is.ErrorContains(err, tc.path+" "+tc.want))
		})
	}
	_, err := ReadRegularFile(regular, 4)
	assert.Check(t, IsTooLarge(err))
	b, err := ReadRegularFile(link, 5)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(b), "12345"))
}
