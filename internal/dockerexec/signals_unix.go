//go:build !windows

package dockerexec

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals passed on to docker when this process gets
// them; docker's --sig-proxy passes them on to the container.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// fromTerminal are the signals a terminal sends to its foreground process
// group. When this process is in that group, so is docker, which then gets
// them from the terminal itself: forwarding them would deliver them twice.
var fromTerminal = []os.Signal{syscall.SIGINT, syscall.SIGQUIT}

// inForeground reports whether this process is in the foreground process
// group of a controlling terminal (where Ctrl-C and Ctrl-\ go).
func inForeground() bool {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false // no controlling terminal
	}
	defer tty.Close()
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
