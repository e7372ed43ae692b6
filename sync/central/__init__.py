"""The central store's half of sync: the HTTP service, push and pull, how a pushed movement
is judged and applied, the change log, enrollment, supervision and the store's own tables.
It speaks to handhelds only through `sync.protocol`; it never imports `sync.device`."""
