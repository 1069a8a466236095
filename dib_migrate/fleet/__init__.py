"""Fleets: many servers in one run, on Celery workers fed by a Redis broker (or in-process).

inventory.py reads the inventory, ssh.py scans a server over SSH, pipeline.py runs one host's
scan → plan → build → verify, tasks.py wraps it as Celery tasks, runner.py drives a wave and
summary.py writes what happened.
"""
