"""werkpilot-tui: the live console, command line, demo fleet and HTTP endpoint."""

__version__ = "0.1.0"
