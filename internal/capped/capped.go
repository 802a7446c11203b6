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
