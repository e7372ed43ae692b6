"""What `lotscan import KIND` takes, in the order a new site imports them: apart from
`scanner.importing`, which loads the models, so that building `lotscan`'s command line (as
a handheld's start does) does not."""

from __future__ import annotations

KINDS: tuple[str, ...] = (
    "parts",
    "locations",
    "operators",
    "jobs",
    "job-components",
    "purchase-orders",
    "sales-orders",
    "site",
)
