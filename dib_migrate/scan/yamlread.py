"""A reader for the block-style YAML subset netplan files use (no PyYAML on the source)."""
import re


class SimpleYAMLError(ValueError):
    pass


def parse_simple_yaml(text):
    """The block-style YAML subset netplan files use: mappings, lists, [a, b] and scalars.

    Anything beyond it (anchors, multi-line strings, flow mappings) raises SimpleYAMLError so
    the caller can say the file was not understood instead of guessing.
    """
    lines = []
    for raw in text.splitlines():
        stripped = _strip_comment(raw).rstrip()
        if not stripped.strip() or stripped.strip() in ("---", "..."):
            continue
        if "\t" in raw[:len(raw) - len(raw.lstrip())]:
            raise SimpleYAMLError("tab indentation")
        lines.append((len(stripped) - len(stripped.lstrip()), stripped.strip()))
    value, pos = _yaml_block(lines, 0, lines[0][0] if lines else 0)
    if pos != len(lines):
        raise SimpleYAMLError("unexpected indentation near %r" % lines[pos][1])
    return value


def _strip_comment(line):
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _is_item(text):
    return text.startswith("- ") or text == "-"


def _yaml_block(lines, pos, indent):
    if pos >= len(lines):
        return None, pos
    if _is_item(lines[pos][1]):
        out = []
        while pos < len(lines) and lines[pos][0] == indent and _is_item(lines[pos][1]):
            rest = lines[pos][1][2:].strip()
            if not rest:
                item, pos = _yaml_block(lines, pos + 1, lines[pos + 1][0] if pos + 1 < len(lines) else indent)
            elif re.match(r"^[^'\"\[{][^:]*:(\s|$)", rest):
                # "- key: value" starts a mapping whose other keys sit two columns further in
                lines[pos] = (indent + 2, rest)
                item, pos = _yaml_block(lines, pos, indent + 2)
            else:
                item, pos = _yaml_value(rest), pos + 1
            out.append(item)
        return out, pos
    out = {}
    while pos < len(lines) and lines[pos][0] == indent:
        text = lines[pos][1]
        m = re.match(r"^([^'\"\[{:][^:]*|\"[^\"]*\"|'[^']*'):(\s+(.*))?$", text)
        if not m:
            raise SimpleYAMLError("not a mapping line: %r" % text)
        key, rest = _yaml_value(m.group(1)), (m.group(3) or "").strip()
        pos += 1
        if rest:
            out[key] = _yaml_value(rest)
        elif pos < len(lines) and lines[pos][0] > indent:
            out[key], pos = _yaml_block(lines, pos, lines[pos][0])
        elif pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("-"):
            out[key], pos = _yaml_block(lines, pos, indent)
        else:
            out[key] = None
    return out, pos


def _yaml_value(text):
    text = text.strip()
    if text == "{}":
        return {}       # netplan's "eno1: {}" (a member with no settings of its own)
    if text.startswith(("&", "*", "!", "|", ">", "{")):
        raise SimpleYAMLError("unsupported YAML: %r" % text)
    if text.startswith("["):
        if not text.endswith("]"):
            raise SimpleYAMLError("unterminated list: %r" % text)
        inner = text[1:-1].strip()
        return [_yaml_value(p) for p in _split_flow(inner)] if inner else []
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("null", "~"):
        return None
    if re.match(r"^-?[0-9]+$", text):
        return int(text)
    return text


def _split_flow(text):
    parts, quote, cur = [], None, ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]
