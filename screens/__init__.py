"""Textual UI for the handheld: one screen per file, reusable widgets, the app stylesheet."""
