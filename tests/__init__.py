"""lotscan tests."""
