"""Datasets: the embedded digits and the sources a user points to."""
