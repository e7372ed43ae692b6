"""Copies the handheld screen's pictures from the snapshot tests to docs/screens/, under
the names the README shows them by.

The pictures are the SVGs `tests/screens/test_tui_snapshots.py` checks (fixed clock, device and
operator, the test plant), so what the README shows is what the tests hold the app to.
After `pytest tests/screens/test_tui_snapshots.py --snapshot-update`:
`.venv/bin/python docs/screens/copy_snapshots.py`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAPSHOTS = HERE.parent.parent / "tests" / "screens" / "__snapshots__" / "test_tui_snapshots"
PICTURES = {
    "sign-in.svg": "test_sign_in[40x16].svg",
    "menu.svg": "test_synced_menu[40x16].svg",
    "receive.svg": "test_mid_receive[40x16].svg",
    "error.svg": "test_error_in_red[40x16].svg",
    "pick-list.svg": "test_issue_pick_list[40x16].svg",
    "warning.svg": "test_warning_awaiting_ok[40x16].svg",
    "help.svg": "test_help[40x16].svg",
    "queue.svg": "test_offline_queue[40x16].svg",
    "supervisor.svg": "test_supervisor_panel[40x16].svg",
    "supervisor-count.svg": "test_supervisor_asks_for_a_count[40x16].svg",
    "supervisor-80x24.svg": "test_supervisor_panel[80x24].svg",
}


def main() -> None:
    for name, snapshot in PICTURES.items():
        shutil.copyfile(SNAPSHOTS / snapshot, HERE / name)
        print(f"docs/screens/{name}")


if __name__ == "__main__":
    main()
