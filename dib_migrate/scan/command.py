"""Read-only query commands (dpkg-query, rpm) run on the scanning host."""
import subprocess


def run(argv, env=None):
    """Output of a read-only query command, or None when it cannot run."""
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except OSError:
        return None
    out, err = proc.communicate()
    if proc.returncode not in (0, 1):   # rpm -V exits 1 when something differs
        return None
    return out.decode("utf-8", "surrogateescape")
