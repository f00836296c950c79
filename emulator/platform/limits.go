package platform

// WithDefaults returns l with its zero (or negative) fields at their
// defaults: the limits a store made with l enforces.
func (l Limits) WithDefaults() Limits { return l.withDefaults() }

// CheckApp refuses (with a *core.LimitError) an app holding more secrets
// or service tokens than l lets an app keep; a durable Store calls it
// inside its write, as the MemoryStore does.
func (l Limits) CheckApp(a *App) error { return l.checkApp(a) }
