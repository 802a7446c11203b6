// Package capped reads no more than a limit: files and streams that come
// from users, archives and servers, where anything over the limit is not
// what it claims to be. It is shared by trust, keystore and plugin, which
// must not import each other.
package capped

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// TooLargeError is returned when there was more to read than the limit.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string { return fmt.Sprintf("larger than %d bytes", e.Limit) }

// ReadAll reads r to its end, or fails with a *TooLargeError once more
// than limit bytes are there.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return b, nil
}

// ReadFile reads the file at path as ReadAll does.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, limit)
}

// IsTooLarge reports whether err is, or wraps, a *TooLargeError.
func IsTooLarge(err error) bool {
	var tl *TooLargeError
	return errors.As(err, &tl)
}

// Reader passes reads through to R until more than Left bytes were read
// in all, then fails; Exceeded says whether that happened. It caps a
// stream that is read piecemeal (a decompressed archive).
type Reader struct {
	R        io.Reader
	Left     int64
	Exceeded bool
}

func (c *Reader) Read(p []byte) (int, error) {
	if c.Left <= 0 {
		c.Exceeded = true
		return 0, errors.New("size limit exceeded")
	}
	if int64(len(p)) > c.Left {
		p = p[:c.Left]
	}
	n, err := c.R.Read(p)
	c.Left -= int64(n)
	return n, err
}

// NotRegularError is returned by ReadRegularFile for a path that is not a
// regular file (a FIFO, a device, a socket or a folder), which it never
// reads: a FIFO would block until a writer comes, a device (/dev/zero)
// would be read until memory runs out.
type NotRegularError struct {
	Path string
	Mode os.FileMode
}

func (e *NotRegularError) Error() string {
	what := "not a regular file"
	switch m := e.Mode.Type(); {
	case m&os.ModeNamedPipe != 0:
		what = "a named pipe (FIFO), not a regular file"
	case m&os.ModeCharDevice != 0, m&os.ModeDevice != 0:
		what = "a device, not a regular file"
	case m&os.ModeSocket != 0:
		what = "a socket, not a regular file"
	case m.IsDir():
		what = "a folder, not a file"
	}
	return fmt.Sprintf("%s is %s", e.Path, what)
}

// ReadRegularFile reads the file at path (symbolic links followed) if it
// is a regular file of at most limit bytes. Anything else is a
// *NotRegularError, and a larger file a *TooLargeError, without reading
// it. It never blocks on a FIFO: the file is opened non-blocking and
// checked before the first read.
func ReadRegularFile(path string, limit int64) ([]byte, error) {
	f, fi, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return ReadAll(f, limit)
}

// OpenRegular opens the file at path (symbolic links followed) for reading
// if it is a regular file, and returns what it is; anything else is a
// *NotRegularError. It never blocks on a FIFO: the file is opened
// non-blocking and checked before anything is read.
func OpenRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	return f, fi, nil
}
