"""Scan a real debootstrapped Debian 12 root prepared like the shared debian12-web server
(tests/support/fixture.py) and check the report and the overlay against the root itself and
against independent tools: dpkg-query, systemctl --root and debsums."""
import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from dib_migrate.scan import scanner as S
from tests.scan.scan_output import overlay_members as members
from tests.scan.scan_output import read_report as load
from tests.support import fixture as F
from tests.support.rootfs import have_debootstrap

pytestmark = [pytest.mark.rootfs,
              pytest.mark.skipif(not have_debootstrap() or not shutil.which("debsums"),
                                 reason="needs root, debootstrap and debsums")]

SCHEMA = Path(S.__file__).resolve().parents[1] / "schema" / "report-v1.json"
PRIVATE_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
               "-----END OPENSSH PRIVATE KEY-----\n")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    base = tmp_path_factory.mktemp("scan-web")
    _key, public = F.ssh_keypair(base)
    fx = F.make_fixture(base / "root", public)
    root = fx.root
    # an admin's edits: a conffile, a plain package file, a key of root's
    conf = root / "etc/nginx/nginx.conf"
    conf.write_text(conf.read_text() + "\n# tuned by the admin\n")
    (root / "usr/share/doc/nginx/copyright").write_text("replaced\n")
    (root / "root/.ssh").mkdir(mode=0o700, exist_ok=True)
    (root / "root/.ssh/id_ed25519").write_text(PRIVATE_KEY)
    os.chmod(root / "root/.ssh/id_ed25519", 0o600)
    (root / "home/webadmin/deploy.pem").write_text(PRIVATE_KEY)
    out = base / "out"
    assert S.main(["--root", str(root), "-o", str(out), "-q"]) == 0
    return fx, out


def test_report_is_valid_yaml_and_private(web):
    _fx, out = web
    written = ["report.yaml", load(out)["overlay"]["archive"], load(out)["overlay"]["manifest"]]
    for name in written:
        assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o600
    assert sorted(p.name for p in out.iterdir()) == sorted([".dib-migrate.json"] + written)
    if SCHEMA.exists():
        import jsonschema
        jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(load(out))
    try:
        from dib_migrate.report import load_report
    except ImportError:
        return
    loaded = load_report(out / "report.yaml")     # the driver's own loader, overlay checks included
    assert loaded.hostname == F.HOSTNAME


def test_system_facts(web):
    fx, out = web
    r = load(out)
    assert r["host"] == {"hostname": F.HOSTNAME, "fqdn": F.HOSTNAME + ".example.test"}
    assert r["os"] == {"family": "debian", "distro": "debian", "version": "12", "codename": "bookworm",
                       "arch": "x86_64"}
    assert r["platform"] == {"virtualization": "unknown", "firmware": "bios"}
    assert r["init_system"] == "systemd"
    assert r["kernel"] == {"running": None, "packages": []}
    assert r["bootloader"] == "none"
    assert r["firewall"] == {"active": True, "tool": "iptables"}
    assert r["clock"] == {"adjtime": F.ADJTIME}
    assert r["network"]["hosts"] == (fx.root / "etc/hosts").read_text()


def test_packages_match_dpkg_query(web):
    fx, out = web
    text = subprocess.run(["dpkg-query", "--admindir", str(fx.root / "var/lib/dpkg"), "-W", "-f",
                           "${Package} ${Version} ${Architecture} ${db:Status-Status}\n"],
                          stdout=subprocess.PIPE, check=True, text=True).stdout
    expected = [dict(zip(("name", "version", "arch"), line.split()[:3]))
                for line in sorted(text.splitlines()) if line.endswith(" installed")]
    assert load(out)["packages"] == sorted(expected, key=lambda p: (p["name"], p["arch"]))
    wanted = {"nginx", "ifupdown", "iptables-persistent", "libvirt-daemon-system"}
    assert wanted <= {p["name"] for p in expected}


def test_services_match_systemctl(web):
    fx, out = web
    text = subprocess.run(["systemctl", "--root", str(fx.root), "list-unit-files",
                           "--type=service,timer,socket,path", "--no-legend", "--no-pager"],
                          stdout=subprocess.PIPE, check=True, text=True).stdout
    expected = {}
    for line in text.splitlines():
        unit, state = line.split()[:2]
        if "@" not in unit and state in ("enabled", "disabled", "masked"):
            expected[S.unit_name(unit)] = state
    got = {s["name"]: s["state"] for s in load(out)["services"]}
    for name, state in expected.items():
        assert got.get(name) == state, name
    assert any(n.endswith(".timer") for n in got) and any(n.endswith(".socket") for n in got)
    # beyond systemctl's list: init scripts systemd would generate a unit for, enabled template instances
    for extra in set(got) - set(expected):
        init_d = fx.root / "etc/init.d"
        assert (init_d / extra).exists() or (init_d / (extra + ".sh")).exists() or "@" in extra, extra
    assert got.get("getty@tty1") == "enabled"
    for name in ("libvirtd", "netfilter-persistent", "ssh", "nginx", "networking"):
        assert got[name] == "enabled"


def test_network_fstab_accounts(web):
    fx, out = web
    r = load(out)
    assert r["network"]["manager"] == "ifupdown"
    assert r["network"]["interfaces"] == [
        {"name": "eth0", "mac": F.SOURCE_MAC["eth0"], "mode": "static", "addresses": [F.ADDRESS],
         "gateway": F.GATEWAY, "dns": [F.DNS], "config_file": "/etc/network/interfaces"},
        {"name": "eth1", "mac": F.SOURCE_MAC["eth1"], "mode": "dhcp", "addresses": [], "gateway": None,
         "dns": [], "config_file": "/etc/network/interfaces"}]
    fields = ("spec", "mountpoint", "fstype", "options", "dump", "pass")
    assert [tuple(e[k] for k in fields) for e in r["fstab"]] \
        == [tuple(line.split()[:4]) + (int(line.split()[4]), int(line.split()[5]))
            for line in F.FSTAB.splitlines() if not line.startswith("#")]
    passwd = [line.split(":") for line in (fx.root / "etc/passwd").read_text().splitlines()]
    assert r["users"] == [{"name": f[0], "uid": int(f[2]), "gid": int(f[3])} for f in passwd]
    group = [line.split(":") for line in (fx.root / "etc/group").read_text().splitlines()]
    assert r["groups"] == [{"name": f[0], "gid": int(f[2])} for f in group]
    assert {"name": F.USER, "uid": F.UID, "gid": F.GID} in r["users"]


def expected_overlay(root):
    """Unowned files (dpkg-query -L) plus what debsums -ac reports changed, with the scanner's
    documented exclusions, as canonical in-root paths."""
    def canonical(path):
        head, tail = os.path.split(path)
        real = os.path.realpath(str(root) + head)
        return real[len(str(root)):] + "/" + tail if tail else real[len(str(root)):]

    admindir = str(root / "var/lib/dpkg")
    names = subprocess.run(["dpkg-query", "--admindir", admindir, "-W", "-f",
                            "${binary:Package} ${db:Status-Status}\n"], stdout=subprocess.PIPE, check=True,
                           text=True).stdout
    installed = [line.split()[0] for line in names.splitlines() if line.endswith(" installed")]
    listing = subprocess.run(["dpkg-query", "--admindir", admindir, "-L"] + installed, stdout=subprocess.PIPE,
                             check=True, text=True).stdout
    owned = {canonical(p) for p in listing.splitlines() if p.startswith("/") and p != "/."}
    debsums = subprocess.run(["debsums", "-ac", "--root", str(root)], stdout=subprocess.PIPE,
                             text=True).stdout
    changed = {canonical(p[len(str(root)):]) for p in debsums.splitlines()}
    hollow = set(S.ALWAYS_EXCLUDED) | set(S.PACKAGE_CACHES)
    skip = set(S.PACKAGE_DATABASES)
    out = set()
    for dirpath, dirs, files in os.walk(root):
        inner_dir = dirpath[len(str(root)):] or "/"
        for name in sorted(dirs + files):
            inner = inner_dir.rstrip("/") + "/" + name
            if any(inner == s or inner.startswith(s + "/") for s in skip) or \
                    any(inner.startswith(h + "/") for h in hollow):
                continue
            if stat.S_ISSOCK(os.lstat(dirpath + "/" + name).st_mode):
                continue
            if inner not in owned or inner in changed:
                out.add(inner)
    return out, changed


def test_overlay_holds_exactly_the_changed_and_unowned_files(web):
    fx, out = web
    r = load(out)
    got = members(out, r)
    expected, changed = expected_overlay(fx.root)
    assert {"/etc/nginx/nginx.conf", "/usr/share/doc/nginx/copyright"} <= changed
    assert set(got) == expected
    assert r["overlay"]["mode"] == "changed" and r["overlay"]["files"] == len(got)
    assert r["overlay"]["bytes"] == sum(m.size for m in got.values() if m.isreg())
    # untouched package files stay out; the edited and the server's own files are in
    for untouched in ("/usr/sbin/nginx", "/etc/nginx/mime.types", "/usr/bin/bash", "/etc/nginx/fastcgi.conf"):
        assert untouched not in got
    for path in ("/etc/nginx/nginx.conf", "/usr/share/doc/nginx/copyright", "/srv/www/index.html",
                 "/etc/network/interfaces", "/etc/passwd", "/etc/shadow", "/etc/iptables/rules.v4"):
        assert path in got
    link = got["/etc/nginx/sites-enabled/fixture"]
    assert link.issym() and link.linkname == "/etc/nginx/sites-available/fixture"
    for path, (uid, gid, mode) in fx.user_files.items():
        m = got[path]
        assert (m.uid, m.gid, stat.S_IMODE(m.mode)) == (uid, gid, mode), path
    home = got["/home/" + F.USER + "/.ssh"]
    assert home.isdir() and (home.uid, stat.S_IMODE(home.mode)) == (F.UID, 0o700)
    assert all(m.uname == "" and m.gname == "" for m in got.values())    # numeric owners only
    assert not any(p.startswith(("/proc/", "/var/lib/dpkg", "/var/cache/apt/")) for p in got)


def test_exclude_secrets_and_patterns(web, tmp_path):
    fx, _out = web
    out = tmp_path / "out"
    assert S.main(["--root", str(fx.root), "-o", str(out), "-q", "--exclude-secrets",
                   "--exclude", "/srv/www/*", "--exclude", "*.pyc"]) == 0
    r = load(out)
    got = members(out, r)
    assert r["overlay"]["excluded_secrets"] is True
    for secret in ("/etc/shadow", "/etc/gshadow", "/etc/ssh/ssh_host_ed25519_key", "/root/.ssh/id_ed25519",
                   "/home/webadmin/deploy.pem"):
        assert secret not in got
    assert "/etc/ssh/ssh_host_ed25519_key.pub" in got and "/etc/passwd" in got
    assert "/srv/www" in got and not any(p.startswith("/srv/www/") for p in got)
    assert not any(p.endswith(".pyc") for p in got)


def test_full_mode_archives_the_whole_root(web, tmp_path):
    fx, _out = web
    out = tmp_path / "out"
    assert S.main(["--root", str(fx.root), "-o", str(out), "-q", "--full"]) == 0
    r = load(out)
    got = members(out, r)
    assert r["overlay"]["mode"] == "full"
    assert {"/usr/sbin/nginx", "/etc/nginx/mime.types", "/var/lib/dpkg/status", "/proc", "/tmp"} <= set(got)
    assert not any(p.startswith(("/proc/", "/tmp/", "/var/cache/apt/")) for p in got)
    bash = got["/usr/bin/bash"]
    assert bash.isreg() and stat.S_IMODE(bash.mode) == 0o755 and bash.uid == 0


def test_fast_path_on_files_dpkg_really_installed(tmp_path):
    """The fixture root is unpacked from a tarball, so every ctime in it is new and the fast
    path hashes everything. Reinstalling one package with the root's own dpkg gives files
    with real install-time ctimes: those are skipped, and edits made after it, even with the
    old mtime put back, are still found, exactly as debsums finds them."""
    _key, public = F.ssh_keypair(tmp_path)
    root = F.make_fixture(tmp_path / "root", public).root
    deb = sorted((root / "var/cache/apt/archives").glob("sensible-utils_*.deb"))[-1]
    subprocess.run(["chroot", str(root), "dpkg", "-i", "/var/cache/apt/archives/" + deb.name],
                   check=True, stdout=subprocess.DEVNULL,
                   env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
    time.sleep(0.05)
    (root / "usr/bin/sensible-pager").write_text("#!/bin/sh\nexec less \"$@\"\n")
    retimed = root / "usr/bin/sensible-editor"
    before = os.stat(retimed)
    retimed.write_bytes(retimed.read_bytes().replace(b"editor", b"EDITOR", 1))
    stamp = "@%d.%09d" % divmod(before.st_mtime_ns, 10 ** 9)
    subprocess.run(["touch", "-d", stamp, str(retimed)], check=True)     # the mtime dpkg gave it
    assert os.stat(retimed).st_mtime_ns == before.st_mtime_ns and os.stat(retimed).st_size == before.st_size
    expected, changed = expected_overlay(root)
    assert {"/usr/bin/sensible-pager", "/usr/bin/sensible-editor"} <= changed
    for argv, method in (([], "ctime"), (["--thorough"], "thorough")):
        out = tmp_path / ("out-" + method)
        assert S.main(["--root", str(root), "-o", str(out), "-q"] + argv) == 0
        r = load(out)
        assert set(members(out, r)) == expected, method
        verify = r["scanner"]["verify"]
        assert verify["method"] == method and verify["files"] == verify["hashed"] + verify["skipped"]
        sums = (root / "var/lib/dpkg/info/sensible-utils.md5sums").read_text().splitlines()
        untouched = len([line for line in sums if line.strip()]) - 2
        assert verify["skipped"] == (untouched if method == "ctime" else 0)


def test_progress_counts_what_it_archives(web, tmp_path, capsys):
    # issue 15: progress said `walked 19 entries` (its first tick) for a scan that archived 3,623
    fx, _ = web
    out = tmp_path / "out"
    assert S.main(["--root", str(fx.root), "-o", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    files = load(out)["overlay"]["files"]
    assert "scan: archiving %d entries" % files in "\n".join(err)
    assert "scan:   archived %d/%d entries" % (files, files) in err
    walked = [ln for ln in err if ln.startswith("scan:   walked ")]
    # the walk's last line is its total, more than what the overlay keeps of it
    assert int(walked[-1].split()[2]) > files
