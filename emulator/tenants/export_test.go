package tenants

// MaxCached is the bound of the registry's cache.
const MaxCached = maxCached

// Cached is how many answers the registry's cache holds.
func (r *Registry) Cached() int {
	r.cache.mu.RLock()
	defer r.cache.mu.RUnlock()
	return len(r.cache.byID) + len(r.cache.byDigest)
}
