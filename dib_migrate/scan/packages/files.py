"""Which paths packages own and which of those differ from their package."""


class PackageFiles(object):
    """Which paths packages own, and which of those differ from the package.

    Paths are canonical in-root paths (directory symlinks such as /bin -> usr/bin
    resolved), so they compare with what a walk of the physical tree finds.
    """

    def __init__(self, method=None):
        self.owned = set()
        self.changed = set()
        # owned paths the source does not have (its admin removed them): path -> package, or None
        # where the package manager does not say (rpm -Va)
        self.absent = {}
        self.method = method         # "ctime", "thorough" or "rpm -Va" (the report's scanner.verify)
        self.verified_files = 0      # package files checked, hashed or not
        self.hashed_files = 0
        self.hashed_bytes = 0
        self.skipped_files = 0       # unchanged since their package was installed (ctime)
        self._finish = None

    def wait(self):
        """Block until the verification running in the background is complete."""
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()
        return self

    def absent_list(self):
        """[{"path", "package"}] of the absent paths, sorted; under an absent directory only the
        directory is named (its files are absent with it)."""
        out, last = [], None
        for path in sorted(self.absent):
            if last is not None and path.startswith(last.rstrip("/") + "/"):
                continue
            last = path
            item = {"path": path}
            if self.absent[path]:
                item["package"] = self.absent[path]
            out.append(item)
        return out
