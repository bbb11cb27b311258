"""SVG snapshots of the Build screen at 80x24 (panel below) and 120x40 (panel beside), in the
dark and high-contrast themes. Update after a deliberate change with
`pytest tests/test_tui_snapshots_build.py --snapshot-update` and look at the pictures."""

from __future__ import annotations

import pytest

from cnn_tui.tui.app import CnnTuiApp


pytestmark = pytest.mark.usefixtures("with_mnist")  # no start-up note about MNIST


@pytest.mark.parametrize("theme", ["cnn-dark", "cnn-high-contrast"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_build_screen(snap_compare, theme, size):
    app = CnnTuiApp(theme=theme, offer_autosave=False)
    # the cursor on the second convolution: its formula, suggestions and lesson in the panel
    assert snap_compare(app, press=["j", "j", "j"], terminal_size=size)
