"""What the tests are built from, in one place: databases migrated once (`databases`),
reference data (`builders`, `plant`), the handheld driven by transcripts (`transcripts`) or
through its terminal (`tui_input`), and sync: the store's logic without HTTP
(`sync_in_process`), sites and handhelds over real HTTP (`sync_over_http`), and the one
checker every sync test ends with (`sync_invariants`)."""
