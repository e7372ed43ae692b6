"""The scan-driven workflows: receive, issue, assign, complete, ship, move, lookup, return."""
