"""The tests mirror the code: `scanner/`, `labels/`, `sync/` (with `device/` and `central/`),
`screens/` and `bench/`, plus `end_to_end/` (handhelds and a store through HTTP, kills and
outages) and, at the top, the rules that span the project (layering, start-up, docs).
Shared fixtures live in `support/` and `conftest.py`."""
