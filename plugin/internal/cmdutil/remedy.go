package cmdutil

// Remedier is an error that says what to do about it. The exit point
// prints an error's message, then the remedy of the outermost error in its
// chain that has one.
type Remedier interface {
	error
	Remedy() string
}

// Error is an error with the remedy that the code which saw it fail
// attached (oras's Recommendation).
type Error struct {
	Err            error
	Recommendation string
}

func (e *Error) Error() string  { return e.Err.Error() }
func (e *Error) Unwrap() error  { return e.Err }
func (e *Error) Remedy() string { return e.Recommendation }

// WithRemedy attaches remedy to err; it returns err as it is when either
// is empty.
func WithRemedy(err error, remedy string) error {
	if err == nil || remedy == "" {
		return err
	}
	return &Error{Err: err, Recommendation: remedy}
}

// RemedyOf returns the first non-empty remedy in err's chain, outermost
// first, or "".
func RemedyOf(err error) string {
	if r := remedierOf(err); r != nil {
		return r.Remedy()
	}
	return ""
}

// remedierOf returns the outermost error in err's chain with a non-empty
// remedy, or nil.
func remedierOf(err error) Remedier {
	for err != nil {
		if r, ok := err.(Remedier); ok && r.Remedy() != "" {
			return r
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if r := remedierOf(e); r != nil {
					return r
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// hasRemedy reports whether err carries a remedy already.
func hasRemedy(err error) bool { return remedierOf(err) != nil }
