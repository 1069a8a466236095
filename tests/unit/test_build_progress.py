"""What an operator reads during and after a build (issue 15): packages k/n through the install
phase, the conversion step, a live line on a terminal, timestamped lines on a pipe, a summary."""
import io
import time

from dib_migrate.build import LogWatch, Progress, summary

from .helpers import FIXTURES, plan_of

# real DIB output (a debian-minimal build's install phase and qcow2 conversion), filtered to the
# lines progress reads
LOG = FIXTURES / "dib-log" / "install-and-convert.log"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _progress(tty, every=10.0):
    stream, clock = io.StringIO(), Clock()
    p = Progress(stream, tty=tty, every=every, clock=clock, wall=lambda: time.gmtime(1795750000 + clock.now))
    return p, stream, clock


def test_install_phase_counts_packages_on_a_pipe():
    p, stream, clock = _progress(tty=False)
    watch = LogWatch(p)
    for line in LOG.read_text().splitlines():
        clock.now += 0.5
        watch.line(line)
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("] phase: install")
    counts = [ln for ln in lines if "packages" in ln]
    # throttled to one line per 10 s of a ~100 s install, and the complete count always shown
    assert 5 <= len(counts) <= 25, counts
    assert counts[-1].split("] ", 1)[1].startswith("install: packages 95/95 unpacked, 95/95 set up")
    assert "phase: finalise" in stream.getvalue() or "phase: cleanup" in stream.getvalue()
    # plain lines for CI: ISO time stamp, elapsed time, no terminal control characters
    assert all(ln[:20].endswith("Z") and ln[4] == "-" for ln in lines)
    assert "\r" not in stream.getvalue() and "\033" not in stream.getvalue()


def test_a_terminal_gets_one_live_line():
    p, stream, clock = _progress(tty=True)
    watch = LogWatch(p)
    for line in LOG.read_text().splitlines():
        watch.line(line)
    p.close()
    text = stream.getvalue()
    # every count overwrites the previous one; phases stay as lines of their own
    assert text.count("\r\033[K") >= 190
    assert "[  0m00s] phase: install\n" in text
    assert "install: packages 95/95 unpacked, 95/95 set up" in text
    assert not text.split("\n")[0].startswith("20")      # no wall-clock stamp on a terminal


def test_conversion_shows_what_it_has_written(tmp_path):
    p, stream, clock = _progress(tty=False, every=0)
    out = tmp_path / "web01-kvm.qcow2"
    watch = LogWatch(p, str(out))
    watch.line("2026-11-27 03:39:01.878 | Converting image using qemu-img convert")
    out.write_bytes(b"\0" * (3 << 20))
    watch.tick()
    assert "phase: convert (qemu-img)\n" in stream.getvalue()
    assert "converting to qcow2: 3 MiB written" in stream.getvalue()
    watch.line("2026-11-27 03:39:34.223 | Image file %s created..." % out)
    out.write_bytes(b"\0" * (5 << 20))
    watch.tick()
    assert "5 MiB" not in stream.getvalue() and "phase: image written" in stream.getvalue()


def test_rpm_families_count_from_dnf_and_zypper():
    p, stream, clock = _progress(tty=False, every=0)
    watch = LogWatch(p)
    watch.line("2026-11-27 03:37:05 | dib-run-parts Running /tmp/in_target.d/install.d/01-package-installs")
    watch.line("2026-11-27 03:37:06 |   Installing       : httpd-core-2.4.57-5.el9.x86_64        12/87")
    watch.line("2026-11-27 03:37:07 | (13/87) Installing: apache2-2.4.58-150600.5.3.1.x86_64 ....[done]")
    text = stream.getvalue()
    assert "install: packages 12/87 installed (httpd-core-2.4.57-5.el9.x86_64)" in text
    assert "install: packages 13/87 installed (apache2-2.4.58-150600.5.3.1.x86_64)" in text


def test_summary_names_image_format_size_elapsed_and_next_commands(example, tmp_path):
    image = tmp_path / "web01-openstack.qcow2"
    image.write_bytes(b"\0" * (3 * (1 << 20) + 512))
    text = summary(image, plan_of(example("debian12-web"), "openstack"), 191.4,
                   packer_templates=[tmp_path / "web01-openstack.provision.packer.json"])
    assert text.splitlines() == [
        "built web01-openstack.qcow2 for openstack in 3m11s",
        "  image:   %s" % image,
        "  format:  qcow2, 3.0 MiB on disk",
        "  elapsed: 3m11s",
        "  next: dib-migrate verify %s --plan %s" % (image, tmp_path / "web01-openstack.plan.json"),
        "        upload: openstack image create --disk-format qcow2 --container-format bare --file %s web01"
        % image,
        "        packer build %s" % (tmp_path / "web01-openstack.provision.packer.json"),
    ]
