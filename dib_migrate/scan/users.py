"""Users and groups from /etc/passwd and /etc/group."""
from .names import valid


def parse_accounts(passwd_text, group_text, progress=None):
    users, groups = [], []
    for line in (passwd_text or "").splitlines():
        f = line.split(":")
        if len(f) < 4 or not f[2].isdigit() or not f[3].isdigit():
            continue      # NIS '+' lines and junk
        if valid("account", f[0]):
            users.append({"name": f[0], "uid": int(f[2]), "gid": int(f[3])})
        elif progress:
            progress.warn("user %r left out: not a valid account name" % f[0])
    for line in (group_text or "").splitlines():
        f = line.split(":")
        if len(f) < 3 or not f[2].isdigit():
            continue
        if valid("account", f[0]):
            groups.append({"name": f[0], "gid": int(f[2])})
        elif progress:
            progress.warn("group %r left out: not a valid group name" % f[0])
    return users, groups
