package cmdutil

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// TrustDir is <DOCKER_CONFIG>/trust: keys, the metadata cache, the default pins file.
func (d *Deps) TrustDir() string { return filepath.Join(d.ConfigDir, "trust") }

// pinsFile is the pins file in use: --pins, else ACRTRUST_PINS, else
// <DOCKER_CONFIG>/trust/pins.json.
func (d *Deps) pinsFile() string {
	switch {
	case d.flags.pins != "":
		return d.flags.pins
	case d.Env.pins != "":
		return d.Env.pins
	}
	return filepath.Join(d.TrustDir(), trust.PinsFileName)
}

// loadPins reads the pins file once. A file that cannot be used stops every
// command that opens trust data or the pins (PinsErr, with its remedy):
// never an empty set of pins.
func (d *Deps) loadPins() {
	d.PinsPath = d.pinsFile()
	var err error
	d.Pins, err = trust.LoadPins(d.PinsPath)
	d.PinsErr = d.Explained(err)
}

// RequirePin is --require-pin, ACRTRUST_REQUIRE_PIN, or disable_tofu in the pins file.
func (d *Deps) RequirePin() bool {
	return d.flags.requirePin || d.Env.requirePin || d.Pins.DisableTOFU
}

// Offline is --offline or ACRTRUST_OFFLINE.
func (d *Deps) Offline() bool { return d.flags.offline || d.Env.offline }

// warnOffline says once per repository, on stderr, that its trust data
// comes from the cache unchecked, and how old that cache is.
func (d *Deps) warnOffline(ref trust.Ref) {
	gun := ref.GUN().String()
	if d.offlineWarned[gun] {
		return
	}
	if d.offlineWarned == nil {
		d.offlineWarned = map[string]bool{}
	}
	d.offlineWarned[gun] = true
	msg := fmt.Sprintf("WARNING: offline: the trust data of %s comes from this machine's cache; its freshness was not checked with the trust server", gun)
	if age, err := trust.CachedTimestamp(d.TrustDir(), ref.GUN()); err == nil {
		msg += fmt.Sprintf(". The cached timestamp was downloaded %s ago (%s) and expires %s",
			roundAge(time.Since(age.Fetched)), age.Fetched.UTC().Format(time.RFC3339), age.Expires.UTC().Format(time.RFC3339))
	}
	_, _ = fmt.Fprintln(d.CLI.Err(), msg)
}

// roundAge rounds an age for people: seconds under a minute, then minutes.
func roundAge(age time.Duration) time.Duration {
	if age < time.Minute {
		return age.Round(time.Second)
	}
	return age.Round(time.Minute)
}
