// Package ptytest opens pseudo-terminals for tests that run a command on a
// terminal of its own (prompts, -it, Ctrl-C).
package ptytest

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Open returns the master and the slave side of a new pseudo-terminal.
// An error that wraps os.ErrNotExist or a permission error means the
// machine has no /dev/ptmx to offer.
func Open() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("no pseudo-terminal on this machine (/dev/ptmx): %w", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		_ = m.Close()
		return nil, nil, fmt.Errorf("unlocking a pseudo-terminal: %w", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		_ = m.Close()
		return nil, nil, fmt.Errorf("numbering a pseudo-terminal: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		_ = m.Close()
		return nil, nil, fmt.Errorf("opening a pseudo-terminal's slave: %w", err)
	}
	return m, s, nil
}
