"""The office console: supervisors and quality staff in a web browser, served by `lotscan
serve` under `/console` (docs/architecture.md, "Office console"). Server-rendered pages over
the same core functions the handheld's supervisor panel and the CLI call; it never
re-implements a rule."""
