"""The footer, fitted to one line: the keys that matter most at this step, each shown whole.

Textual's `Footer` lays every shown binding out in a row and lets the screen's edge cut the
last one, so a 40-column handheld showed "F11" without its "OK", the one key that mattered
while a warning waited. This footer ranks the live keys (the screen says how), keeps the
best-ranked that fit the width whole, and shows them in a fixed order (the screen says
which), whatever key a keymap moved an action to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


@dataclass(frozen=True)
class Key:
    """One key as the footer shows it."""

    binding: Binding
    shown: str  # the key as printed, such as "F11" or "^P"
    enabled: bool
    tooltip: str

    @property
    def width(self) -> int:
        """Cells it takes in a compact footer: key, a space, the description."""
        label = f"{self.shown} {self.binding.description}" if self.binding.description else ""
        return cell_len(label or self.shown)


def fit(keys: Sequence[Key], width: int, rank: Callable[[Binding], int]) -> list[Key]:
    """The keys to show in `width` cells, one cell between two: the best-ranked (lowest
    rank) first, each that still fits whole, then back in their given order."""
    chosen: set[int] = set()
    used = 0
    for index in sorted(range(len(keys)), key=lambda i: (rank(keys[i].binding), i)):
        needed = keys[index].width + (1 if chosen else 0)
        if used + needed <= width:
            chosen.add(index)
            used += needed
    return [key for index, key in enumerate(keys) if index in chosen]


class KeyBar(Footer):
    """A compact footer that never cuts a key: see `fit`."""

    def __init__(
        self,
        rank: Callable[[Binding], int],
        order: Callable[[Binding], int],
        wanted: Callable[[Binding], bool] = lambda binding: True,
        *,
        id: str | None = None,
    ) -> None:
        """`rank` says which keys to keep first, `order` where each goes, `wanted` which
        live keys the step shows at all."""
        super().__init__(compact=True, show_command_palette=False, id=id)
        self._rank = rank
        self._order = order
        self._wanted = wanted
        self._width = 0
        self._shown: list[Key] | None = None
        """The keys the last compose showed (None before the first)."""

    def keys(self) -> list[Key]:
        """The screen's live keys that ask to be shown, one per action, in `order`."""
        keys: list[Key] = []
        actions: set[str] = set()
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in actions or not self._wanted(binding):
                continue
            actions.add(binding.action)
            keys.append(Key(binding, self.app.get_key_display(binding), enabled, tooltip))
        return sorted(keys, key=lambda key: self._order(key.binding))

    def fitted(self) -> list[Key]:
        """The keys to show now: see `fit`."""
        return fit(self.keys(), self._width or self.app.size.width, self._rank)

    def bindings_changed(self, screen: Screen[object]) -> None:
        """As Textual's footer does it, but built again only when the keys it would show
        changed: the screen refreshes its bindings after every scan, and making the keys'
        widgets again each time was a good part of a scan's time on screen."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self.is_attached and self.fitted() != self._shown:
            await self.recompose()

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._shown = self.fitted()
        for key in self._shown:
            binding = key.binding
            yield FooterKey(
                binding.key,
                key.shown,
                binding.description,
                binding.action,
                disabled=not key.enabled,
                tooltip=key.tooltip,
            ).data_bind(compact=Footer.compact)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self.recompose)
