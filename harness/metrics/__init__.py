"""Metrics computed on the host from device outputs.

classification (top-1, accuracy, confusion), agreement (bit-exact vs the host
reference), anomaly (rank-based ROC AUC) and events (frame-based event metrics for
streaming models). Pure numpy; plotting imports matplotlib lazily.
"""
