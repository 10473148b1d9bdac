package app

// WithSessionTicketKeys makes the TLS port encrypt its session tickets
// with keys (the first; all are accepted), rather than with keys of its
// own: the workers of --workers N share them, so that a session resumes
// on whichever worker the client reaches. None: no change.
func WithSessionTicketKeys(keys [][32]byte) Option {
	return func(a *App) { a.tickets = keys }
}
