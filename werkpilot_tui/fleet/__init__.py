"""Fleet mode: Prometheus queries, fleet snapshots and the console's fleet session."""
