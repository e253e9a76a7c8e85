package status

// RemoveCheck forgets a check (one a reload removed from the config).
func (r *Registry) RemoveCheck(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.checks, name)
}
