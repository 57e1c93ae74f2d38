"""The guard before the call: pauses, hard budget caps, run caps and loops refuse a run early."""
