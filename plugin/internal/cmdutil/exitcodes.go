package cmdutil

// Exit codes, as docker uses them.
const (
	ExitFailure = 1
	ExitUsage   = 125
	// exitInterrupted is 128 + SIGINT, as a shell reports a command
	// stopped by Ctrl-C.
	ExitInterrupted = 130
)
