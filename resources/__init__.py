"""Data files the app ships (read with importlib.resources, so they work from a wheel or a zip as well)."""
