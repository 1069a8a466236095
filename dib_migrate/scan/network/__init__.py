"""Network configuration: one module per manager; detect.py picks the manager."""
