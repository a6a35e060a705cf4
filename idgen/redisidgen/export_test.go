package redisidgen

// withPaused makes the renewal skip its turns while f reports true, as when
// the holding process is stopped.
func withPaused(f func() bool) Option { return func(c *config) { c.paused = f } }
