package dockerexec

import "os"

// forwarded: on Windows a console's Ctrl-C reaches every process attached
// to it, docker included; only an interrupt sent to this process alone is
// passed on.
var forwarded = []os.Signal{os.Interrupt}

// fromTerminal: Ctrl-C from the console reaches docker directly.
var fromTerminal = []os.Signal{os.Interrupt}

// inForeground reports whether a console delivers Ctrl-C to docker too:
// always so for a console program.
func inForeground() bool { return true }
