"""Choose a template (a ready-made starting architecture); dismisses with its name or None."""

from __future__ import annotations

from rich.text import Text
from textual.widgets.option_list import Option

from cnn_tui.spec.templates import TEMPLATE_INFO, TEMPLATES, get_template
from cnn_tui.tui.common.option_picker import OptionPicker, picker_bindings


class TemplatePicker(OptionPicker):
    BINDINGS = picker_bindings("templates")
    OPTIONS_ID = "template-options"

    def compose_title(self) -> Text:
        return Text("Load a template (replaces the model; u undoes)", style="bold")

    def compose_options(self):
        for name in TEMPLATES:
            arch = get_template(name)
            prompt = Text()
            prompt.append(f"{arch.name:<14}", style="bold")
            prompt.append(f" {len(list(arch.walk()))} layers\n    {TEMPLATE_INFO.get(name, '')}")
            yield Option(prompt, id=name)
