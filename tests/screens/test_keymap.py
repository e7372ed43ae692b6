"""A device's keymap.toml: the keys it moves, checked before the app starts, each refusal one
line naming the file, the binding and the key; and how the keypad prints a moved key."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.cli import open_tui
from scanner.workspace import sqlite_url
from screens.app import LotscanApp
from screens.keymap import DEFAULT_KEYS, KEYMAP_FILE, KeymapError, full_keymap, load_keymap
from screens.keys import key_label


def keymap_file(folder: Path, text: str) -> Path:
    path = folder / KEYMAP_FILE
    path.write_text(text, encoding="utf-8")
    return path


def test_no_keymap_file_moves_nothing(tmp_path: Path) -> None:
    assert load_keymap(tmp_path) == {}


def test_a_keymap_moves_keys_by_binding_id(tmp_path: Path) -> None:
    keymap_file(
        tmp_path,
        '# a VT220-style device\nreturn = "F15"\nsupervisor = ["f13", "ctrl+o"]\n',
    )
    assert load_keymap(tmp_path) == {"return": "f15", "supervisor": "f13,ctrl+o"}


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ('retrun = "f15"', "no key has the id 'retrun'; the ids are assign, back, "),
        ('return = "florp"', "return = 'florp': no key is named 'florp'"),
        ('return = "hyperx+f15"', "return = 'hyperx+f15': a key's modifiers are alt, ctrl"),
        ('return = "r"', "return = 'r': it types into the scan field"),
        ('return = "shift+r"', "return = 'shift+r': it types into the scan field"),
        ('return = "space"', "return = 'space': it types into the scan field"),
        ('return = "enter"', "return = 'enter': enter is the scan field's"),
        ('return = "ctrl+j"', "return = 'ctrl+j': ctrl+j is the scan field's"),
        ('return = "ctrl+a"', "return = 'ctrl+a': ctrl+a is the scan field's"),
        ('return = "ctrl+q"', "return = 'ctrl+q': ctrl+q quits"),
        ('return = "tab"', "return = 'tab': tab moves the focus"),
        ('return = "f2"', "receive, resolve-apply and return would share f2"),
        ('receive = "f3"', "issue, receive and resolve-void would share f3"),
        ("return = 15", 'return: give a key as text, such as "ctrl+r"'),
        ('return = ""', "return: a key is missing"),
        ('return = "f15,"', "return: a key is missing"),
        ("return = ", "is not valid TOML"),
    ],
)
def test_a_keymap_the_handheld_cannot_use_is_refused_saying_why(
    tmp_path: Path, text: str, refusal: str
) -> None:
    path = keymap_file(tmp_path, text + "\n")
    with pytest.raises(KeymapError) as refused:
        load_keymap(tmp_path)
    assert str(refused.value).startswith(str(path))
    assert refusal in str(refused.value)


def test_keys_that_share_a_key_as_shipped_may_move_together(tmp_path: Path) -> None:
    keymap_file(tmp_path, 'receive = "f13"\nresolve-apply = "f13"\n')
    assert load_keymap(tmp_path) == {"receive": "f13", "resolve-apply": "f13"}


def test_the_app_is_given_every_binding_so_a_move_leaves_a_shared_key_to_the_others() -> None:
    """Textual, moving one binding off a key, drops the others on it: F2 would stop applying
    a held movement once RECEIVE moved."""
    keymap = full_keymap({"receive": "ctrl+r"})
    assert keymap["receive"] == "ctrl+r"
    assert keymap["resolve-apply"] == "f2"
    assert set(keymap) == set(DEFAULT_KEYS)


@pytest.mark.parametrize(
    ("keys", "label"),
    [
        ("f15", "F15"),
        ("ctrl+r", "^R"),
        ("shift+f5", "S-F5"),
        ("ctrl+shift+f5", "^S-F5"),
        ("alt+f2", "A-F2"),
        ("escape", "Esc"),
        ("pagedown", "PgDn"),
        ("f13,ctrl+o", "F13"),
    ],
)
def test_a_moved_key_is_shown_as_the_keypad_prints_it(keys: str, label: str) -> None:
    assert key_label(keys) == label


def test_lotscan_refuses_a_keymap_it_cannot_use_before_the_screen_opens(tmp_path: Path) -> None:
    """`lotscan` on a terminal, with a keymap.toml beside the device database that names a
    binding no key has: one line on standard error, exit 1, no screen."""
    keymap_file(tmp_path, 'retrun = "f15"\n')
    main, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "scanner"],
            stdin=terminal,
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            env={"LOTSCAN_HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(main)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"lotscan: {tmp_path / KEYMAP_FILE}: no key has the id 'retrun'")


def test_the_handheld_starts_with_the_keymap_beside_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keymap_file(tmp_path, 'return = "ctrl+r"\n')
    started: list[dict[str, str]] = []
    monkeypatch.setattr(LotscanApp, "run", lambda app: started.append(app._device_keymap))
    assert open_tui(sqlite_url(tmp_path / "lotscan.db")) == 0
    assert started == [{"return": "ctrl+r"}]
