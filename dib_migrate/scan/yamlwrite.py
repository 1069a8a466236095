"""YAML output without PyYAML: the report's shapes, read back alike by YAML 1.1 and 1.2 loaders."""
import re


# A plain (unquoted) scalar is only emitted when no YAML 1.1 or 1.2 loader can read it as
# anything but this string: it starts with a letter, '_' or '/', holds no characters with
# YAML meaning, and is not one of the words YAML resolves to bools or null. Everything else
# is written as a JSON string, which is valid YAML.
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./+@~-]*$")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}


def _json_string(text):
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7f or 0x80 <= code < 0xa0 or code in (0x2028, 0x2029, 0xfeff):
            out.append("\\u%04x" % code)
        elif 0xd800 <= code < 0xe000:
            # lone surrogates from undecodable bytes: YAML cannot carry them
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def yaml_scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        # fixed point with a '.': YAML 1.1 loaders read "1e-05" as a string (micro-second precision)
        text = ("%.6f" % value).rstrip("0")
        return text + "0" if text.endswith(".") else text
    if not isinstance(value, str):
        raise TypeError("cannot write %r to the report" % (value,))
    if _PLAIN.match(value) and value.lower() not in _RESERVED:
        return value
    return _json_string(value)


def _yaml_lines(value, indent):
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines = []
        for key, item in value.items():
            head = pad + yaml_scalar(key) + ":"
            if isinstance(item, dict) and item:
                lines.append(head)
                lines.extend(_yaml_lines(item, indent + 2))
            elif isinstance(item, list) and item:
                lines.append(head)
                lines.extend(_yaml_lines(item, indent))   # block lists sit at the key's indent
            else:
                lines.append(head + " " + _yaml_inline(item))
        return lines
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub = _yaml_lines(item, indent + 2)
                lines.append(pad + "- " + sub[0][indent + 2:])
                lines.extend(sub[1:])
            else:
                lines.append(pad + "- " + _yaml_inline(item))
        return lines
    return [pad + yaml_scalar(value)]


def _yaml_inline(value):
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return yaml_scalar(value)


def dump_yaml(data, header=None):
    """Block-style YAML for the report's shapes: dicts, lists, str, int, bool, None."""
    lines = []
    for comment in (header or "").splitlines():
        lines.append("# " + comment if comment else "#")
    lines.extend(_yaml_lines(data, 0))
    return "\n".join(lines) + "\n"
