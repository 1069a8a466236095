"""dib-migrate: move a running Linux server into a cloud image with diskimage-builder."""
__version__ = "0.1.0"
