"""nodeconfig."""
