"""Errors the CLI turns into exit codes, and the bounded way they quote untrusted values."""
import reprlib

MAX_PROBLEM = 600       # a refusal is read in a terminal: it names the field, it does not dump the file

_quote = reprlib.Repr()
_quote.maxstring = _quote.maxother = 100
_quote.maxlist = _quote.maxtuple = _quote.maxdict = _quote.maxset = 4
_quote.maxlevel = 2


def excerpt(value):
    """A short, bounded quotation of an untrusted value (never its whole text)."""
    return _quote.repr(value)


def _bounded(text):
    text = str(text)
    if len(text) <= MAX_PROBLEM:
        return text
    return text[:MAX_PROBLEM] + "… (%d more characters)" % (len(text) - MAX_PROBLEM)


class InputError(Exception):
    """Bad input (report, option, profile, output path): exit code 2; names file, field and value."""

    def __init__(self, file, field, value, problem):
        self.file, self.field, self.value, self.problem = str(file), field, value, problem
        where = "%s: field %s" % (self.file, field) if field else self.file
        if value is not None:
            where += " = %s" % excerpt(value)
        super().__init__("%s: %s" % (where, _bounded(problem)))


class ToolMissing(Exception):
    """A host tool the build needs is absent (exit code 2): the message says what to install."""


class BuildError(Exception):
    """A build step failed (exit code 1)."""
