"""Errors the CLI turns into exit codes."""


class InputError(Exception):
    """Bad input (report, option, profile): exit code 2, message names file, field and value."""

    def __init__(self, file, field, value, problem):
        self.file, self.field, self.value, self.problem = str(file), field, value, problem
        super().__init__("%s: field %s = %r: %s" % (self.file, field or "(top)", value, problem))


class BuildError(Exception):
    """A build step failed (exit code 1)."""
