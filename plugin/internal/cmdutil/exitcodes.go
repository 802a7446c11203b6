package cmdutil

// Exit codes, as docker uses them.
const (
	ExitFailure = 1
	ExitUsage   = 125
	// exitInterrupted is 128 + SIGINT, as a shell reports a command
	// stopped by Ctrl-C.
	ExitInterrupted = 130
)

// AnnotationOwnSignals, set on a command, keeps the exit point from
// handling SIGINT and SIGTERM for it: run and create hand them to the
// docker they run (internal/dockerexec), and the exit point's handler would
// turn a second Ctrl-C into the plugin's death, leaving docker behind.
const AnnotationOwnSignals = "acrtrust.own-signals"
