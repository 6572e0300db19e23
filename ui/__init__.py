"""PySide6 widgets (panel, viewer, overlays); they import the core, never a host."""
