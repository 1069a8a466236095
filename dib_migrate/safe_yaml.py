"""YAML for untrusted files: bounded in size, no aliases, no duplicate keys.

A report or inventory comes from another machine. PyYAML's safe loader still expands aliases (a
"billion laughs" document grows to gigabytes when anything walks it), keeps the last of two
duplicate keys without a word, and reads files of any size. The document is composed into a node
graph first (libyaml's C parser where it is installed), the graph is checked, and only then are
Python objects built.
"""
import os

import yaml

from .errors import InputError

MAX_FILE_BYTES = 32 << 20      # a 5,000-package report is ~420 KB
MAX_SCALAR_CHARS = 1 << 20     # the longest legitimate value is a hosts file's text
MAX_DEPTH = 64

try:
    _Loader = yaml.CSafeLoader
except AttributeError:          # PyYAML built without libyaml
    _Loader = yaml.SafeLoader


def _where(path):
    out = ""
    for p in path:
        out += "[%d]" % p if isinstance(p, int) else ("." if out else "") + str(p)
    return out or None


def _check_graph(file, root):
    """Refuse aliases (a node reached twice), duplicate keys, huge scalars and deep nesting."""
    seen = set()
    stack = [(root, ())]
    while stack:
        node, path = stack.pop()
        line = node.start_mark.line + 1
        if id(node) in seen:
            raise InputError(file, _where(path), None,
                             "YAML aliases (*name) are refused in this file (line %d)" % line)
        seen.add(id(node))
        if len(path) > MAX_DEPTH:
            raise InputError(file, _where(path[:8]) + "…", None, "nested deeper than %d levels (line %d)"
                             % (MAX_DEPTH, line))
        if isinstance(node, yaml.ScalarNode):
            if len(node.value) > MAX_SCALAR_CHARS:
                raise InputError(file, _where(path), node.value, "a value of %d characters (line %d); the limit "
                                 "is %d" % (len(node.value), line, MAX_SCALAR_CHARS))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, path + (i,)) for i, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            keys = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    raise InputError(file, _where(path), None, "a mapping key that is not a plain value "
                                     "(line %d)" % (key.start_mark.line + 1))
                if key.tag == "tag:yaml.org,2002:merge":
                    raise InputError(file, _where(path), "<<", "YAML merge keys are refused (line %d)"
                                     % (key.start_mark.line + 1))
                if key.value in keys:
                    raise InputError(file, _where(path + (key.value,)), None,
                                     "duplicate key %r (lines %d and %d)" % (
                                         key.value[:60], keys[key.value], key.start_mark.line + 1))
                keys[key.value] = key.start_mark.line + 1
                stack.append((key, path))
                stack.append((value, path + (key.value,)))


def load(path, what="report", max_bytes=MAX_FILE_BYTES):
    """Parse one YAML document from ``path``; every refusal is an InputError naming the file."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                raise InputError(path, None, None, "the %s is %d bytes; the limit is %d" % (what, size, max_bytes))
            raw = f.read(max_bytes + 1)
    except OSError as e:
        raise InputError(path, None, None, "cannot read the %s: %s" % (what, e.strerror))
    if len(raw) > max_bytes:     # a pipe or a file still growing
        raise InputError(path, None, None, "the %s is over the limit of %d bytes" % (what, max_bytes))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(path, None, None, "not UTF-8 text (byte %d)" % e.start)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(path, node)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        raise InputError(path, None, None, "not valid YAML: %s" % str(e).replace("\n", " ")[:300])
    except RecursionError:
        raise InputError(path, None, None, "nested too deeply to read")
    finally:
        loader.dispose()
