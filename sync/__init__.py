"""Offline sync between handhelds and the central store: `sync.protocol` is the doorway both
sides share, `sync.device` the handheld's room, `sync.central` the store's."""
