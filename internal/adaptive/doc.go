// Package adaptive bounds how many requests a bulk command (audit,
// migrate, signing many tags, copy) has in flight, and adapts the bound to
// a registry that throttles: additive increase, multiplicative decrease
// (AIMD, as in TCP's congestion control). Each throttled wait halves the
// bound, at most once per cool-down, so that one burst of 429s is one
// decrease; each round of items (as many as the bound) finished without
// throttling grows it by one, up to the bound the user asked for
// (--parallel). It counts the time lost to throttling, for the report.
package adaptive
