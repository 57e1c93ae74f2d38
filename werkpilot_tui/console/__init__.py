"""The Textual console: app, screens, widgets, live feed and view models."""
