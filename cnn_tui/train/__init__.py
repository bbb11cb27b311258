"""Training: spec -> nn.Module, the loop, events, checkpoints, metrics and probes (torch)."""
