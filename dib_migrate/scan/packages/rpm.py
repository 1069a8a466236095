"""The rpm database: installed packages, owned files and rpm -Va."""
import re
import threading

from ..command import run
from .files import PackageFiles


RPM_QUERY_FORMAT = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n"


def rpm_command(root, *args):
    argv = ["rpm"]
    if not root.live:
        argv += ["--root", root.path]
    # the database where the scanned distribution keeps it, not where this host's rpm would
    # look by default (Debian's rpm uses ~/.rpmdb)
    for dbpath in ("/var/lib/rpm", "/usr/lib/sysimage/rpm"):
        if root.isdir(dbpath) and root.listdir(dbpath):
            argv += ["--dbpath", root.resolve(dbpath)]
            break
    return argv + list(args)


def parse_rpm_qa(text):
    """``rpm -qa --qf RPM_QUERY_FORMAT`` output -> packages (gpg-pubkey pseudo packages dropped)."""
    out = []
    for line in (text or "").splitlines():
        fields = line.split("\t")
        if len(fields) != 5 or fields[0] == "gpg-pubkey":
            continue
        name, epoch, version, release, arch = fields
        full = "%s-%s" % (version, release)
        if epoch not in ("(none)", "", "0"):
            full = "%s:%s" % (epoch, full)
        out.append({"name": name, "version": full, "arch": arch if arch != "(none)" else "noarch"})
    return out


def parse_rpm_files(text):
    """``[%{FILENAMES}\\t%{FILEFLAGS:fflags}\\n]`` -> owned paths; %ghost files are not owned content."""
    owned = set()
    for line in (text or "").splitlines():
        path, _, flags = line.partition("\t")
        if path.startswith("/") and "g" not in flags:
            owned.add(path)
    return owned


# rpm -V columns: S size, M mode, 5 digest, D device, L link, U user, G group, T mtime, P caps.
# Content, link target, mode and ownership changes are kept; an mtime alone is not a change.
RPM_VERIFY = re.compile(r"^(missing|[.SM5DLUGTP?]{8,9})\s+([cdglr ])\s(/.*)$")


def parse_rpm_verify(text):
    """``rpm -Va`` output -> {path: flags} of files that differ from their package."""
    changed = {}
    for line in (text or "").splitlines():
        m = RPM_VERIFY.match(line)
        if not m:
            continue
        flags, kind, path = m.groups()
        if flags == "missing" or kind == "g":
            continue
        if set(flags) & set("SM5LUG?"):
            changed[path] = flags
    return changed


def parse_rpm_missing(text):
    """``rpm -Va`` output -> the package files that are missing (the admin removed them)."""
    out = []
    for line in (text or "").splitlines():
        m = RPM_VERIFY.match(line)
        if m and m.group(1) == "missing" and m.group(2) != "g":
            out.append(m.group(3))
    return out


def rpm_package_files(root, progress):
    result = PackageFiles("rpm -Va")     # rpm compares size and mtime itself before digests
    progress.phase("reading rpm file lists")
    text = run(rpm_command(root, "-qa", "--qf", "[%{FILENAMES}\\t%{FILEFLAGS:fflags}\\n]"))
    for path in parse_rpm_files(text):
        result.owned.add(root.canonical(path))
    progress.phase("verifying package files with rpm -Va (in the background)")
    outputs = []
    thread = threading.Thread(target=lambda: outputs.append(run(rpm_command(
        root, "-Va", "--nodeps", "--noscripts", "--nodigest", "--nosignature"))))
    thread.daemon = True
    thread.start()

    def finish():
        thread.join()
        text = outputs[0] if outputs else None
        if text is None:
            progress.warn("rpm -Va failed; no package file is treated as changed")
        for path in parse_rpm_verify(text):
            result.changed.add(root.canonical(path))
        for path in parse_rpm_missing(text):
            result.absent.setdefault(root.canonical(path), None)
    result._finish = finish
    return result


def rpm_absent_files(root):
    """The package files the root lacks, from ``rpm -Va`` without file digests (existence and
    attributes only: seconds, where hashing takes minutes): what a delta scan needs to see a
    package file removed since the last scan. An rpm without --nofiledigest (before 4.6) names none."""
    result = PackageFiles(None)
    text = run(rpm_command(root, "-Va", "--nodeps", "--noscripts", "--nodigest", "--nosignature", "--nofiledigest"))
    for path in parse_rpm_missing(text):
        result.absent.setdefault(root.canonical(path), None)
    return result
