"""Executions: the performance monitor, its rolling windows, thresholds and host health."""
