"""Reusable widgets of the Build screen: the layer table, side panel, diagram and totals."""
