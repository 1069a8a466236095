"""YAML for untrusted files: bounded in size and in alias expansion, no duplicate keys.

A report or inventory comes from another machine. PyYAML's safe loader builds aliases as shared
objects, so a "billion laughs" document is small until something walks it (validation, an error
message) and grows to gigabytes; it also keeps the last of two duplicate keys without a word and
reads files of any size. The document is composed into a node graph first (libyaml's C parser
where it is installed), the graph is checked, and only then are Python objects built.
"""
import os

import yaml

from .errors import InputError, excerpt

MAX_FILE_BYTES = 32 << 20      # a 5,000-package report is ~420 KB
MAX_SCALAR_CHARS = 1 << 20     # the longest legitimate value is a hosts file's text
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 2_000_000     # with aliases expanded; a 5,000-package report has ~40,000
MAX_EXPANDED_CHARS = 64 << 20

try:
    _Loader = yaml.CSafeLoader
except AttributeError:          # PyYAML built without libyaml
    _Loader = yaml.SafeLoader


def _where(path):
    out = ""
    for p in path:
        out += "[%d]" % p if isinstance(p, int) else ("." if out else "") + str(p)
    return out or None


def _children(node, path):
    if isinstance(node, yaml.SequenceNode):
        return [(child, path + (i,)) for i, child in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out = []
        for key, value in node.value:
            out += [(key, path), (value, path + (key.value,))]
        return out
    return []


def _check_node(file, node, path):
    line = node.start_mark.line + 1
    if len(path) > MAX_DEPTH:
        raise InputError(file, _where(path[:8]) + "…", None, "nested deeper than %d levels (line %d)"
                         % (MAX_DEPTH, line))
    if isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_SCALAR_CHARS:
        raise InputError(file, _where(path), node.value, "a value of %d characters (line %d); the limit is %d"
                         % (len(node.value), line, MAX_SCALAR_CHARS))
    if isinstance(node, yaml.MappingNode):
        keys = {}
        for key, _value in node.value:
            kline = key.start_mark.line + 1
            if not isinstance(key, yaml.ScalarNode):
                raise InputError(file, _where(path), None, "a mapping key that is not a plain value (line %d)" % kline)
            if key.tag == "tag:yaml.org,2002:merge":
                raise InputError(file, _where(path), "<<", "YAML merge keys are refused (line %d)" % kline)
            if key.value in keys:
                raise InputError(file, _where(path + (key.value,)), None, "duplicate key %s (lines %d and %d)"
                                 % (excerpt(key.value), keys[key.value], kline))
            keys[key.value] = kline


def _check_graph(file, root):
    """Refuse duplicate keys, huge values, deep nesting, cyclic aliases and aliases that expand too far.

    Aliases are allowed (PyYAML writes them for shared objects) but the document's expanded size is
    counted without expanding it: each node's size is the sum of its children's, computed once.
    """
    size = {}               # id(node) -> (nodes, characters) once expanded
    open_ = set()           # nodes whose subtree is being walked: meeting one again is a cycle
    stack = [(root, (), False)]
    while stack:
        node, path, done = stack.pop()
        nid = id(node)
        if done:
            open_.discard(nid)
            nodes, chars = 1, len(node.value) if isinstance(node, yaml.ScalarNode) else 0
            for child, _ in _children(node, path):
                nodes, chars = nodes + size[id(child)][0], chars + size[id(child)][1]
            if nodes > MAX_EXPANDED_NODES or chars > MAX_EXPANDED_CHARS:
                raise InputError(file, _where(path), None, "aliases expand this to %d values and %d characters "
                                 "(line %d); the limits are %d and %d" % (
                                     nodes, chars, node.start_mark.line + 1, MAX_EXPANDED_NODES,
                                     MAX_EXPANDED_CHARS))
            size[nid] = (nodes, chars)
            continue
        if nid in size:
            continue
        if nid in open_:
            raise InputError(file, _where(path), None, "a YAML alias that contains itself (line %d)"
                             % (node.start_mark.line + 1))
        _check_node(file, node, path)
        open_.add(nid)
        stack.append((node, path, True))
        stack.extend((c, p, False) for c, p in _children(node, path) if id(c) not in size)


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
