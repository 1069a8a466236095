"""Reading what a scan wrote: the report and the overlay archive's members."""
import io
import subprocess
import tarfile

import yaml


def read_report(out):
    return yaml.safe_load((out / "report.yaml").read_text())


def overlay_members(out, report):
    """{"/in-root/path": TarInfo} of the overlay archive (zstd or gzip)."""
    data = (out / report["overlay"]["archive"]).read_bytes()
    if data[:4] == b"\x28\xb5\x2f\xfd":
        data = subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {"/" + m.name.rstrip("/"): m for m in tar.getmembers()}
