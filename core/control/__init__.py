"""Steering the fleet: the audit trail of operator actions and the pauses it holds."""
