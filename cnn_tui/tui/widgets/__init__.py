"""Reusable widgets, one per module: the editor's table, panel, diagram and totals, and the
train/analyze views. Import them from their modules (nothing is re-exported here, so importing
one widget never pulls in another's dependencies)."""
