"""The handheld's half of sync: its outbox, the client that pushes and pulls, what it does
with the store's answers, its enrollment, its sync status and the background loop's logic.
It speaks to the store only through `sync.protocol`; it never imports `sync.central`."""
