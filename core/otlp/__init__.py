"""OpenTelemetry: OTLP records mapped to executions and cost entries, and the exporter."""
