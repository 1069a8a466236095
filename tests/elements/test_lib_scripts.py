"""The elements' helper scripts (migrate-lib/) on fixture files, without a root filesystem."""
import os
import subprocess
from pathlib import Path

from .hookrun import ELEMENTS

FIXTURES = Path(__file__).parent / "fixtures"
BOOT_LIB = ELEMENTS / "migrate-bootloader/migrate-lib"
BASE_LIB = ELEMENTS / "migrate-base/migrate-lib"


def run(argv, **kw):
    env = dict(os.environ, DIB_DEBUG_TRACE="0")
    env.update(kw.pop("env", {}))
    return subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True, check=True, **kw)


def test_grub_cmdline_awk_merges_once_and_drops_old_disk_names():
    expected = (FIXTURES / "default-grub.expected").read_text()
    args = "net.ifnames=0 biosdevname=0 console=ttyS0,115200"
    out = run(["awk", "-f", BOOT_LIB / "grub-cmdline.awk", FIXTURES / "default-grub"], env={"ADD": args}).stdout
    assert out == expected
    # applied again to its own output: nothing changes
    again = subprocess.run(["awk", "-f", str(BOOT_LIB / "grub-cmdline.awk")], input=out, capture_output=True,
                           text=True, env=dict(os.environ, ADD=args), check=True).stdout
    assert again == expected


def test_grub_cmdline_awk_adds_the_line_when_missing():
    out = subprocess.run(["awk", "-f", str(BOOT_LIB / "grub-cmdline.awk")], input="GRUB_TIMEOUT=5\n",
                         capture_output=True, text=True, env=dict(os.environ, ADD="console=ttyS0"), check=True)
    assert out.stdout == 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="console=ttyS0"\n'


def test_grub_legacy_menu(tmp_path):
    # two kernels; only the newer has an initramfs at the family's path
    new, old = "2.6.32-754.el6.x86_64", "2.6.32-573.el6.x86_64"
    (tmp_path / ("initramfs-%s.img" % new)).write_text("x")
    (tmp_path / ("initrd-%s" % old)).write_text("a SUSE name: not this family's")
    out = run([BOOT_LIB / "grub-legacy-menu", "centos 6.10", "cloudimg-rootfs", "console=ttyS0,115200",
               "/boot/initramfs-@KVER@.img", new, old], env={"BOOT": str(tmp_path)}).stdout
    assert out == (FIXTURES / "grub-legacy.conf.expected").read_text()


def test_grub_legacy_menu_on_a_separate_boot_partition(tmp_path):
    (tmp_path / "initrd-5.14.21").write_text("x")
    out = run([BOOT_LIB / "grub-legacy-menu", "sles 12", "root", "", "/boot/initrd-@KVER@", "5.14.21"],
              env={"BOOT": str(tmp_path), "PREFIX": ""}).stdout
    assert "    kernel /vmlinuz-5.14.21 ro root=LABEL=root\n    initrd /initrd-5.14.21\n" in out


def test_boot_local_line_goes_before_exit_once(tmp_path):
    rc = tmp_path / "rc.local"
    rc.write_text((FIXTURES / "rc.local").read_text())
    (tmp_path / "family").mkdir()
    (tmp_path / "family/rc-local").write_text("%s\n" % rc)
    for _ in range(2):
        run([BASE_LIB / "boot-local-line", tmp_path, "/usr/local/sbin/dib-migrate-growroot || true"])
    assert rc.read_text() == (FIXTURES / "rc.local.expected").read_text()
    assert os.stat(rc).st_mode & 0o777 == 0o755


def test_boot_local_line_creates_the_family_file(tmp_path):
    rc = tmp_path / "etc/init.d/boot.local"
    (tmp_path / "family").mkdir()
    (tmp_path / "family/rc-local").write_text("%s\n" % rc)
    run([BASE_LIB / "boot-local-line", tmp_path, "/usr/local/sbin/x early && /usr/local/sbin/x late"])
    assert rc.read_text() == "#!/bin/sh\n/usr/local/sbin/x early && /usr/local/sbin/x late\n"


def test_family_run_takes_words_literally(tmp_path):
    cmds = tmp_path / "cmds"
    # no shell: $HOME, * and quotes stay as written; {} becomes every argument, each one word
    cmds.write_text("printf <%s>\\n $HOME * {} 'q'\n\nprintf [%s]\\n {}\n")
    out = run([BASE_LIB / "family-run", cmds, "a b", "c"]).stdout
    assert out == "<$HOME>\n<*>\n<a b>\n<c>\n<'q'>\n[a b]\n[c]\n"


def test_family_run_fails_with_its_command(tmp_path):
    cmds = tmp_path / "cmds"
    cmds.write_text("false {}\ntouch %s\n" % (tmp_path / "not-reached"))
    res = subprocess.run([str(BASE_LIB / "family-run"), str(cmds), "x"], capture_output=True)
    assert res.returncode != 0 and not (tmp_path / "not-reached").exists()


AZURE_LIB = ELEMENTS / "migrate-cloud-azure/migrate-lib"


def test_waagent_keys_set_in_place_missing_ones_appended(tmp_path):
    settings = tmp_path / "waagent"
    # as render writes cloud/waagent for an Azure Plan (identity keep)
    settings.write_text("Provisioning.DeleteRootPassword=n\nProvisioning.RegenerateSshHostKeyPair=n\n"
                        "ResourceDisk.EnableSwap=n\nResourceDisk.Format=y\n")
    out = run(["awk", "-F=", "-f", AZURE_LIB / "set-keys.awk", settings, FIXTURES / "waagent.conf"]).stdout
    assert out == (FIXTURES / "waagent.conf.expected").read_text()


def test_waagent_bad_key_fails(tmp_path):
    settings = tmp_path / "waagent"
    settings.write_text("ResourceDisk.EnableSwap=n\nbad key=1\n")
    res = subprocess.run(["awk", "-F=", "-f", str(AZURE_LIB / "set-keys.awk"), str(settings),
                          str(FIXTURES / "waagent.conf")], capture_output=True, text=True)
    assert res.returncode == 1 and "bad key 'bad key'" in res.stderr


OVERLAY_LIB = ELEMENTS / "migrate-overlay/migrate-lib"


def test_overlay_mode_answers_on_stdout_and_fails_on_an_unknown_mode(tmp_path):
    (tmp_path / "overlay").mkdir()
    assert run([OVERLAY_LIB / "overlay-mode", tmp_path]).stdout == "none\n"
    (tmp_path / "overlay/archive.tar").write_bytes(b"")
    for mode in ("changed", "full"):
        (tmp_path / "overlay/mode").write_text(mode + "\n")
        assert run([OVERLAY_LIB / "overlay-mode", tmp_path]).stdout == mode + "\n"
    (tmp_path / "overlay/mode").write_text("delta\n")
    res = subprocess.run([str(OVERLAY_LIB / "overlay-mode"), str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 1 and res.stdout == "" and "unknown overlay/mode 'delta'" in res.stderr


def test_identity_policy_defaults_to_keep_and_fails_on_others(tmp_path):
    lib = ELEMENTS / "migrate-identity/migrate-lib/identity-policy"
    assert run([lib, tmp_path]).stdout == "keep\n"
    (tmp_path / "identity").mkdir()
    (tmp_path / "identity/policy").write_text("reset\n")
    assert run([lib, tmp_path]).stdout == "reset\n"
    (tmp_path / "identity/policy").write_text("wipe\n")
    res = subprocess.run([str(lib), str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 1 and "unknown identity/policy 'wipe'" in res.stderr


def test_set_source_ids_renumbers_listed_names_only(tmp_path):
    db = tmp_path / "passwd"
    db.write_text("root:x:0:0:root:/root:/bin/bash\ndeploy:x:1000:1000::/home/deploy:/bin/bash\n"
                  "app:x:1002:1002::/srv/app:/bin/sh\n")
    ids = tmp_path / "users"
    ids.write_text("deploy 1001\napp 1002\n")
    out = run([OVERLAY_LIB / "set-source-ids", db, ids]).stdout
    assert db.read_text().splitlines() == ["root:x:0:0:root:/root:/bin/bash",
                                           "deploy:x:1001:1000::/home/deploy:/bin/bash",
                                           "app:x:1002:1002::/srv/app:/bin/sh"]
    assert "set source ids" in out
    # nothing to change: the file is left alone and nothing is said
    assert run([OVERLAY_LIB / "set-source-ids", db, ids]).stdout == ""
