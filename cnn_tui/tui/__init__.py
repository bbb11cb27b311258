"""The Textual app. Importing this package is free: textual loads only with `cnn_tui.tui.app`.

Entry point: `cnn_tui.tui.launch.launch(args)` (called by `cnn-tui` with no command).
"""
