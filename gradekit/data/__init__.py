"""Datasets and pretrained weights under DATA_ROOT: fetch, verify, and stand-ins for offline smoke runs."""
