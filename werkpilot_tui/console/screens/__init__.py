"""Screens of the console: the dashboard (home), modals, and the views it opens."""
