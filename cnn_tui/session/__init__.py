"""Headless sessions: the settings, a run's lifecycle and its training, for every front end.

No Textual here: the app, the CLI, the Python API and the sweeps all go through these modules.
"""
