"""The lines over the trial table: the sweep (kind, sampler, pruner), its progress by state,
whether it runs and where from, and the best trial so far with its parameters."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from cnn_tui.session.sweeps import params_line
from cnn_tui.spec.text import printable
from cnn_tui.tui.sweeps.trial_table import BEST_MARK, STATES


def header_text(snapshot, launch=None, note: str = "") -> Text:
    sweep = snapshot.sweep
    what = sweep.kind
    if sweep.kind == "search":
        what += f", {sweep.sampler}"
        if sweep.pruner.get("type", "none") != "none":
            what += f", {sweep.pruner['type']} pruner"
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(printable(snapshot.name), style="bold")
    text.append(f" ({what}) {snapshot.done}/{snapshot.target} done")
    for state in ("running", "pruned", "failed", "invalid", "waiting"):
        count = snapshot.counts.get(state, 0)
        if count:
            marker, style = STATES[state]
            text.append(f" {marker} {count} {state}", style=style)
    if snapshot.stopped:
        text.append(" · stopped", style="bold")
    if snapshot.finished and not snapshot.stopped:
        text.append(" · finished", style="dim")
    if launch is not None and launch.alive:
        text.append(f" · pid {launch.pid}", style="dim")
    if note:
        text.append(f" · {printable(note)}", style="dim")
    text.append("\n")
    best = snapshot.best
    if best is None:
        text.append(f"{BEST_MARK} best: no complete trial yet", style="dim")
    else:
        text.append(f"{BEST_MARK} best #{best.number}: {sweep.metric} {best.value:.4f}",
                    style="bold")
        if best.test_acc is not None:
            text.append(f"  test {best.test_acc:.4f}")
        text.append("  " + printable(params_line(best.params)))
    return text


class BestHeader(Static):
    DEFAULT_CSS = "BestHeader { height: 2; padding: 0 1; }"

    def show(self, snapshot, launch=None, note: str = "") -> None:
        self.remove_class("-empty")
        self.update(header_text(snapshot, launch, note))

    def empty(self, text: str) -> None:
        """A sentence instead of a sweep: wrapped, whole (the screen has room for it)."""
        self.add_class("-empty")
        self.update(Text(printable(text)))
