"""Installed packages and their files, one module per package format."""
