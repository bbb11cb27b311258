"""Modal dialogs: each returns its answer through `dismiss`, so callers use push_screen callbacks."""
