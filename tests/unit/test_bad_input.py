"""Bad and hostile input, table-driven: every case exits 2, names the field (or file), keeps the message
short, prints no traceback and writes nothing. The counts go in the safety issue's closing note."""
import hashlib
import io
import os
import tarfile

import pytest

from dib_migrate.cli import main

from .helpers import EXAMPLES, FIXTURES, dump_yaml, source_data

DEBIAN = EXAMPLES / "debian12-web" / "report.yaml"
MAX_ERR = 1200           # characters: a refusal names the field, it never dumps the report


def _tar(path, members):
    """members: (name, kind, extra) with kind file|dir|sym|lnk|chr|blk|fifo|setuid."""
    with tarfile.open(str(path), "w:gz") as tar:
        for name, kind, extra in members:
            ti = tarfile.TarInfo(name)
            data = None
            if kind in ("file", "setuid"):
                payload = b"x\n"
                ti.size, data = len(payload), io.BytesIO(payload)
                ti.mode = 0o4755 if kind == "setuid" else 0o644
            else:
                ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "lnk": tarfile.LNKTYPE,
                           "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
                ti.mode = 0o666
                if kind in ("sym", "lnk"):
                    ti.linkname = extra
                if kind in ("chr", "blk"):
                    ti.devmajor, ti.devminor = extra
            tar.addfile(ti, data)
    return path


def report(tmp, mutate=None, members=None, text=None, raw=None):
    d = tmp / "src"
    d.mkdir(exist_ok=True)
    path = d / "report.yaml"
    if raw is not None:
        path.write_bytes(raw)
        return str(path)
    if text is not None:
        path.write_text(text)
        return str(path)
    data = source_data("debian12-web")
    if members is not None:
        archive = _tar(d / "overlay.tar.gz", members)
        data["overlay"]["sha256"] = hashlib.sha256(archive.read_bytes()).hexdigest()
        data["overlay"]["archive"] = "overlay.tar.gz"
    else:
        data["overlay"] = None
    if mutate:
        mutate(data)
    path.write_text(dump_yaml(data))
    return str(path)


def setter(path, value):
    """A mutation that sets data[path...] = value (path: tuple of keys/indexes)."""
    def mutate(d):
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return mutate


def bond_with(options):
    """eth0 made a bond (over eth1) with bond ``options``."""
    return setter(("network", "interfaces", 0), {"name": "bond0", "mode": "dhcp", "kind": "bond",
                                                 "members": ["eth1"], "bond_options": options})


def deleter(path):
    def mutate(d):
        for k in path[:-1]:
            d = d[k]
        del d[path[-1]]
    return mutate


def _text_with(replace_from, replace_to):
    return DEBIAN.read_text().replace(replace_from, replace_to, 1)


def _junk_archive(t):
    def mutate(d):
        (t / "src" / "overlay.tar.gz").write_bytes(b"junk")
        d["overlay"]["sha256"] = hashlib.sha256(b"junk").hexdigest()
    return mutate


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    "%s: &%s [%s]\n" % (c, c, ", ".join(["*" + p] * 10)) for p, c in zip("abcdefgh", "bcdefghi"))
ETC = ("etc", "dir", None)

# name -> (report maker(tmp), words that must appear in the message)
CASES = {
    # --- the file itself
    "missing-file": (lambda t: str(t / "nope.yaml"), "cannot read the report"),
    "directory": (lambda t: str(FIXTURES), "cannot read the report"),
    "malformed": (lambda t: str(FIXTURES / "bad" / "malformed.yaml"), "not valid YAML"),
    "empty": (lambda t: report(t, text=""), "a scan report is a YAML mapping"),
    "top-level-list": (lambda t: report(t, text="- a\n- b\n"), "a scan report is a YAML mapping"),
    "top-level-scalar": (lambda t: report(t, text="hello\n"), "a scan report is a YAML mapping"),
    "two-documents": (lambda t: report(t, text="a: 1\n---\nb: 2\n"), "not valid YAML"),
    "tab-indent": (lambda t: report(t, text="host:\n\thostname: x\n"), "not valid YAML"),
    "not-utf8": (lambda t: report(t, raw=b"host: \xff\xfe\n"), "not UTF-8"),
    "binary": (lambda t: report(t, raw=bytes(range(256)) * 4), "report"),
    "too-big": (lambda t: report(t, text="# " + "x" * (33 << 20) + "\n"), "the limit is"),
    "huge-value": (lambda t: report(t, setter(("host", "hostname"), "h" * (2 << 20))), "field host.hostname"),
    "alias-bomb": (lambda t: report(t, text=BOMB), "aliases expand"),
    "alias-cycle": (lambda t: report(t, text="a: &x [1, *x]\n"), "contains itself"),
    "duplicate-top-key": (lambda t: report(t, text=DEBIAN.read_text() + "host:\n  hostname: evil\n"),
                          "duplicate key 'host'"),
    "duplicate-nested-key": (lambda t: report(t, text=_text_with("  hostname: ", "  hostname: a\n  hostname: ")),
                             "field host.hostname"),
    "merge-key": (lambda t: report(t, text="a: {x: 1}\nb:\n  <<: {y: 2}\n"), "merge keys"),
    "deep-nesting": (lambda t: report(t, text="a: " + "[" * 100 + "]" * 100 + "\n"), "nested"),
    "complex-key": (lambda t: report(t, text="? [a, b]\n: 1\n"), "not a plain value"),
    # --- schema and semantics
    "schema-version-missing": (lambda t: report(t, deleter(("schema_version",))), "field schema_version"),
    "schema-version-2": (lambda t: str(FIXTURES / "bad" / "schema-v2.yaml"), "field schema_version = 2"),
    "windows-family": (lambda t: str(FIXTURES / "bad" / "windows.yaml"), "field os.family = 'windows'"),
    "windows-distro": (lambda t: report(t, setter(("os", "distro"), "windows-server")), "field os.distro"),
    "host-missing": (lambda t: report(t, deleter(("host",))), "host"),
    "hostname-metachar": (lambda t: report(t, setter(("host", "hostname"), "web;rm -rf")), "field host.hostname"),
    "hostname-too-long": (lambda t: report(t, setter(("host", "hostname"), "h" * 300)), "field host.hostname"),
    "fqdn-metachar": (lambda t: report(t, setter(("host", "fqdn"), "a.b$(x)")), "field host.fqdn"),
    "family-unknown": (lambda t: report(t, setter(("os", "family"), "arch")), "field os.family"),
    "distro-metachar": (lambda t: report(t, setter(("os", "distro"), "debian;x")), "field os.distro"),
    "version-metachar": (lambda t: report(t, setter(("os", "version"), "12 && x")), "field os.version"),
    "arch-unknown": (lambda t: report(t, setter(("os", "arch"), "x86;64")), "field os.arch"),
    "virt-unknown": (lambda t: report(t, setter(("platform", "virtualization"), "qemu!")),
                     "field platform.virtualization"),
    "firmware-unknown": (lambda t: report(t, setter(("platform", "firmware"), "coreboot")), "field platform.firmware"),
    "init-unknown": (lambda t: report(t, setter(("init_system",), "runit")), "field init_system"),
    "bootloader-unknown": (lambda t: report(t, setter(("bootloader",), "lilo")), "field bootloader"),
    "kernel-packages-not-list": (lambda t: report(t, setter(("kernel", "packages"), "linux")),
                                 "field kernel.packages"),
    "kernel-running-metachar": (lambda t: report(t, setter(("kernel", "running"), "6.1 ;x")), "field kernel.running"),
    "packages-not-list": (lambda t: report(t, setter(("packages",), {"a": 1})), "field packages"),
    "package-name-space": (lambda t: report(t, setter(("packages", 0, "name"), "a b")), "field packages[0].name"),
    "package-name-subst": (lambda t: report(t, setter(("packages", 1, "name"), "$(reboot)")),
                           "field packages[1].name"),
    "package-version-newline": (lambda t: report(t, setter(("packages", 2, "version"), "1.0\nx")),
                                "field packages[2].version"),
    "package-no-name": (lambda t: report(t, deleter(("packages", 3, "name"))), "packages[3]"),
    "service-metachar": (lambda t: report(t, setter(("services", 12, "name"), "nginx;reboot")),
                         "field services[12].name = 'nginx;reboot'"),
    "service-state": (lambda t: report(t, setter(("services", 0, "state"), "sleeping")), "field services[0].state"),
    "user-metachar": (lambda t: report(t, setter(("users", 0, "name"), "root;x")), "field users[0].name"),
    "user-uid-string": (lambda t: report(t, setter(("users", 0, "uid"), "zero")), "field users[0].uid"),
    "user-uid-negative": (lambda t: report(t, setter(("users", 0, "uid"), -5)), "field users[0].uid"),
    "group-metachar": (lambda t: report(t, setter(("groups", 0, "name"), "g`id`")), "field groups[0].name"),
    "manager-unknown": (lambda t: report(t, setter(("network", "manager"), "connman")), "field network.manager"),
    "iface-metachar": (lambda t: report(t, setter(("network", "interfaces", 0, "name"), "eth0;x")),
                       "field network.interfaces[0].name"),
    "iface-too-long": (lambda t: report(t, setter(("network", "interfaces", 0, "name"), "e" * 16)),
                       "field network.interfaces[0].name"),
    "iface-mode": (lambda t: report(t, setter(("network", "interfaces", 0, "mode"), "manual")),
                   "field network.interfaces[0].mode"),
    "address-prefix": (lambda t: report(t, setter(("network", "interfaces", 0, "addresses"), ["10.0.0.1/99"])),
                       "field network.interfaces[0].addresses[0]"),
    "address-garbage": (lambda t: report(t, setter(("network", "interfaces", 0, "addresses"), ["1.2.3/8"])),
                        "field network.interfaces[0].addresses[0]"),
    "gateway-garbage": (lambda t: report(t, setter(("network", "interfaces", 0, "gateway"), "10.0.0.300")),
                        "field network.interfaces[0].gateway"),
    "dns-garbage": (lambda t: report(t, setter(("network", "interfaces", 0, "dns"), ["not-an-ip"])),
                    "field network.interfaces[0].dns"),
    "mac-garbage": (lambda t: report(t, setter(("network", "interfaces", 0, "mac"), "00:11:22:33:44")),
                    "field network.interfaces[0].mac"),
    "bond-option-metachar": (lambda t: report(t, bond_with({"primary": "eth1$(reboot)"})),
                             "field network.interfaces[0].bond_options.primary"),
    "bond-option-space": (lambda t: report(t, bond_with({"arp_ip_target": "10.0.0.1 10.0.0.2"})),
                          "field network.interfaces[0].bond_options.arp_ip_target"),
    "bond-option-name": (lambda t: report(t, bond_with({"Miimon;x": "100"})),
                         "field network.interfaces[0].bond_options"),
    "bond-option-mode": (lambda t: report(t, bond_with({"mode": "active-backup"})),
                         "field network.interfaces[0].bond_options = 'mode': the bond's mode is the interface's "
                         "bond_mode"),
    "bond-option-number": (lambda t: report(t, bond_with({"miimon": 100})),
                           "field network.interfaces[0].bond_options.miimon"),
    "bond-options-not-a-bond": (lambda t: report(t, setter(("network", "interfaces", 0, "bond_options"),
                                                           {"miimon": "100"})),
                                "field network.interfaces[0].bond_options"),
    "config-file-relative": (lambda t: report(t, setter(("network", "interfaces", 0, "config_file"), "etc/x")),
                             "field network.interfaces[0].config_file"),
    "fstab-not-list": (lambda t: report(t, setter(("fstab",), "/dev/sda1 / ext4")), "field fstab"),
    "fstab-spec-newline": (lambda t: report(t, setter(("fstab", 0, "spec"), "UUID=x\n/dev/sdb /x ext4")),
                           "field fstab[0].spec"),
    "firewall-active-string": (lambda t: report(t, setter(("firewall", "active"), "yes")), "field firewall.active"),
    # --- the overlay archive
    "overlay-sha256": (lambda t: report(t, setter(("overlay", "sha256"), "f" * 64), members=[ETC]),
                       "field overlay.sha256"),
    "overlay-missing": (lambda t: report(t, setter(("overlay", "archive"), "gone.tar.gz"), members=[ETC]),
                        "field overlay.archive"),
    "overlay-not-tar": (lambda t: report(t, _junk_archive(t), members=[ETC]), "not a readable tar archive"),
    "overlay-dotdot": (lambda t: report(t, members=[ETC, ("./../../etc/cron.d/evil", "file", None)]), "'..'"),
    "overlay-absolute": (lambda t: report(t, members=[("/etc/shadow", "file", None)]), "absolute"),
    "overlay-through-symlink": (lambda t: report(t, members=[ETC, ("etc/evil", "sym", "/etc"),
                                                             ("etc/evil/passwd", "file", None)]),
                                "through the symlink"),
    "overlay-hardlink-out": (lambda t: report(t, members=[("x", "lnk", "/etc/shadow")]), "hard link"),
    "overlay-chr-dev-mem": (lambda t: report(t, members=[("dev", "dir", None), ("dev/mem", "chr", (1, 1))]),
                            "character device"),
    "overlay-chr-in-etc": (lambda t: report(t, members=[ETC, ("etc/kmem", "chr", (1, 2))]), "character device"),
    "overlay-blk": (lambda t: report(t, members=[("srv", "dir", None), ("srv/disk", "blk", (8, 0))]),
                    "block device"),
    "overlay-fifo": (lambda t: report(t, members=[("run", "dir", None), ("run/pipe", "fifo", None)]), "FIFO"),
}

OPTION_CASES = {
    # name -> (extra argv maker(tmp), words)
    "target-unknown": (lambda t: ["--target", "gcp"], "field target = 'gcp'"),
    "element-metachar": (lambda t: ["--element", "x;reboot"], "--element"),
    "profile-missing": (lambda t: ["--install-profile", str(t / "none.yaml")], "cannot read the install profile"),
    "profile-duplicate-key": (lambda t: ["--install-profile", _write(t / "p.yaml", "keyboard: us\nkeyboard: de\n")],
                              "duplicate key 'keyboard'"),
    "profile-metachar": (lambda t: ["--install-profile", _write(t / "p.yaml", "keyboard: 'us; reboot'\n")],
                         "keyboard"),
    "profile-alias-bomb": (lambda t: ["--install-profile", _write(t / "p.yaml", BOMB)], "aliases expand"),
}


def _write(path, text):
    path.write_text(text)
    return str(path)


def snapshot(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(str(root)):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out.append((os.path.relpath(p, str(root)), st.st_size, st.st_mtime_ns))
    return sorted(out)


def check_refused(capsys, tmp_path, argv, words):
    before = snapshot(tmp_path)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, err
    assert err.startswith("dib-migrate: error: ") and words in err, err[:MAX_ERR]
    assert len(err) <= MAX_ERR, "message of %d characters" % len(err)
    assert "Traceback" not in err and out == ""
    assert snapshot(tmp_path) == before, "something was written"


@pytest.mark.parametrize("command", ["build", "render", "plan"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_report(capsys, tmp_path, command, case):
    make, words = CASES[case]
    path = make(tmp_path)
    argv = [command, path, "--target", "kvm"]
    if command != "plan":
        argv += ["-o", str(tmp_path / "out")]
    if command == "build":
        argv.append("--dry-run")
    check_refused(capsys, tmp_path, argv, words)


@pytest.mark.parametrize("command", ["build", "render", "plan"])
@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_bad_option(capsys, tmp_path, command, case):
    make, words = OPTION_CASES[case]
    extra = make(tmp_path)
    argv = [command, str(DEBIAN)] + (["--target", "kvm"] if "--target" not in extra else []) + extra
    if command != "plan":
        argv += ["-o", str(tmp_path / "out")]
    if command == "build":
        argv.append("--dry-run")
    check_refused(capsys, tmp_path, argv, words)


def _file(t):
    return _write(t / "notes.txt", "the operator's notes\n")


def _foreign_dir(t):
    (t / "mywork").mkdir()
    _write(t / "mywork" / "src.c", "int main;\n")
    return str(t / "mywork")


OUTPUT_CASES = {
    "output-is-a-file": (_file, "is a file"),
    "output-foreign-dir": (_foreign_dir, "did not write"),
    "output-under-a-file": (lambda t: os.path.join(_file(t), "sub"), "Not a directory"),
}


@pytest.mark.parametrize("command", ["build", "render"])
@pytest.mark.parametrize("case", sorted(OUTPUT_CASES))
def test_operator_output_refused(capsys, tmp_path, command, case):
    make, words = OUTPUT_CASES[case]
    out = make(tmp_path)
    argv = [command, str(DEBIAN), "--target", "kvm", "-o", out] + (["--dry-run"] if command == "build" else [])
    check_refused(capsys, tmp_path, argv, words)


def test_cwd_is_never_wiped(capsys, tmp_path, monkeypatch):
    _write(tmp_path / "source.py", "print(1)\n")
    monkeypatch.chdir(tmp_path)
    check_refused(capsys, tmp_path, ["render", str(DEBIAN), "--target", "kvm", "-o", "."], "did not write")


def test_setuid_listed_in_plan(capsys, tmp_path):
    path = report(tmp_path, members=[("usr", "dir", None), ("usr/local", "dir", None),
                                     ("usr/local/bin", "dir", None), ("usr/local/bin/suid-tool", "setuid", None)])
    assert main(["plan", path, "--target", "kvm"]) == 0
    out = capsys.readouterr().out
    assert "overlay-setuid" in out and "/usr/local/bin/suid-tool" in out


def test_full_overlay_may_carry_dev(tmp_path):
    from dib_migrate.overlay import check_archive
    archive = _tar(tmp_path / "o.tar.gz", [("dev", "dir", None), ("dev/null", "chr", (1, 3))])
    assert check_archive(archive, "gzip", "full") is None
    assert "character device" in check_archive(archive, "gzip", "changed")


def test_case_count():
    """The safety issue asks for at least 60 bad inputs."""
    assert len(CASES) + len(OPTION_CASES) + len(OUTPUT_CASES) + 1 >= 60


def test_missing_host_tool_names_the_package(tmp_path):
    from dib_migrate import hosttools
    from dib_migrate.errors import ToolMissing
    with pytest.raises(ToolMissing) as e:
        hosttools.check(["debian-minimal", "vm"], path=str(tmp_path))
    assert "qemu-img" in str(e.value) and "qemu-utils" in str(e.value) and "debootstrap" in str(e.value)


def test_missing_dib_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DIB_MIGRATE_DIB", str(tmp_path / "no-such-dib"))
    check_refused(capsys, tmp_path, ["build", str(DEBIAN), "--target", "kvm", "-o", str(tmp_path / "o")],
                  "DIB_MIGRATE_DIB")


def test_internal_error_has_no_traceback(capsys, monkeypatch):
    import dib_migrate.cli as cli_mod

    def boom(args):
        raise KeyError("surprise")
    monkeypatch.setattr(cli_mod, "cmd_targets", boom)
    assert main(["targets"]) == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "--debug" in err and "Traceback" not in err
    with pytest.raises(KeyError):
        main(["targets", "--debug"])
