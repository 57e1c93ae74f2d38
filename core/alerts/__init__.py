"""Alerts: the alert manager, its folded state, rules, checkpoint and delivery channels."""
