"""lotscan's domain and handheld core: models, ledger rules, lots and serials, trace, the CLI."""
