import os

from setuptools import find_packages, setup


def tree(top):
    """Every file under ``top`` (relative to dib_migrate/), for package data."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dib_migrate")
    out = []
    for dirpath, _dirs, files in os.walk(os.path.join(here, top)):
        for name in files:
            out.append(os.path.relpath(os.path.join(dirpath, name), here))
    return out


setup(
    name="dib-migrate",
    version="0.1.0",
    description="Move a running Linux server into a cloud image with diskimage-builder",
    packages=find_packages(exclude=["tests", "tests.*"]),
    # hostshims: the kpartx/dmsetup/mount/sudo stand-ins are scripts without a .py suffix
    package_data={"dib_migrate": ["schema/*.json", "hostshims/*"] + tree("elements") + tree("templates")},
    python_requires=">=3.9",
    install_requires=["diskimage-builder>=3.30", "jinja2>=3", "pyyaml>=5", "jsonschema>=4",
                      # fleet: Celery workers on a Redis broker
                      "celery>=5.3", "redis>=4.5"],
    entry_points={"console_scripts": ["dib-migrate=dib_migrate.cli:main"]},
)
