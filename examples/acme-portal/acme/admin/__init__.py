"""Administration tools."""
