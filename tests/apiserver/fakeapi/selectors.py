"""Label and field selectors, parsed and matched like the real API server.

Label selectors: ``k``, ``!k``, ``k=v``, ``k==v``, ``k!=v``,
``k in (a,b)``, ``k notin (a,b)``; a comma is AND. Field selectors:
``path=v``, ``path==v``, ``path!=v`` on a dotted path into the object (a
missing field is the empty string); a comma is AND.
"""

import re


class SelectorError(ValueError):
    """A selector that does not parse or uses an unsupported field."""


_KEY = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _split_top(text):
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unbalanced ')' in {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise SelectorError(f"unbalanced '(' in {text!r}")
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _check_key(key, text):
    if not _KEY.match(key) or len(key.split("/")[-1]) > 63:
        raise SelectorError(f"invalid label key {key!r} in selector {text!r}")


def _check_value(value, text):
    if len(value) > 63 or not _VALUE.match(value):
        raise SelectorError(f"invalid label value {value!r} in selector {text!r}")


def parse_labels(text):
    """Parse a label selector into a list of (op, key, values) terms."""
    terms = []
    if text is None or text.strip() == "":
        return terms
    for part in _split_top(text):
        if part == "":
            raise SelectorError(f"empty term in label selector {text!r}")
        m = re.match(r"^(\S+)\s+(in|notin)\s*\((.*)\)$", part)
        if m:
            key, op, vals = m.group(1), m.group(2), m.group(3)
            _check_key(key, text)
            values = [v.strip() for v in vals.split(",")]
            for v in values:
                _check_value(v, text)
            terms.append((op, key, set(values)))
            continue
        m = re.match(r"^([^=!<>\s]+)\s*(==|!=|=)\s*(\S*)$", part)
        if m:
            key, op, value = m.group(1), m.group(2), m.group(3)
            _check_key(key, text)
            _check_value(value, text)
            terms.append(({"=": "eq", "==": "eq", "!=": "ne"}[op], key, {value}))
            continue
        if part.startswith("!"):
            key = part[1:].strip()
            _check_key(key, text)
            terms.append(("absent", key, set()))
            continue
        _check_key(part, text)
        terms.append(("present", part, set()))
    return terms


def match_labels(terms, obj):
    """True when the object's labels satisfy every term."""
    labels = ((obj.get("metadata") or {}).get("labels")) or {}
    for op, key, values in terms:
        has = key in labels
        val = labels.get(key)
        if op == "present" and not has:
            return False
        if op == "absent" and has:
            return False
        if op in ("eq", "in") and (not has or val not in values):
            return False
        if op in ("ne", "notin") and has and val in values:
            return False
    return True


def parse_fields(text, unsupported=()):
    """Parse a field selector into (field, op, value) terms.

    A field in ``unsupported`` is refused like a real server refuses a
    field label it does not index.
    """
    terms = []
    if text is None or text.strip() == "":
        return terms
    for part in _split_top(text):
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(==|!=|=)(.*)$", part)
        if not m:
            raise SelectorError(f"invalid field selector term {part!r} in {text!r}")
        field, op, value = m.group(1), m.group(2), m.group(3)
        if field in unsupported:
            raise SelectorError(f"field label not supported: {field}")
        terms.append((field, "ne" if op == "!=" else "eq", value))
    return terms


def field_value(obj, path):
    """The value at a dotted path, as the string a field selector compares."""
    cur = obj
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            return ""
        cur = cur[key]
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, (dict, list)):
        return ""
    return str(cur)


def match_fields(terms, obj):
    """True when the object satisfies every field term."""
    for field, op, value in terms:
        got = field_value(obj, field)
        if (got == value) != (op == "eq"):
            return False
    return True


class Selector:
    """A parsed label plus field selector; ``matches(obj)`` is their AND."""

    def __init__(self, labels=None, fields=None, unsupported=()):
        self.labels = parse_labels(labels)
        self.fields = parse_fields(fields, unsupported)

    def empty(self):
        """True when the selector selects everything."""
        return not self.labels and not self.fields

    def matches(self, obj):
        """True when obj is selected (None is never selected)."""
        return obj is not None and match_labels(self.labels, obj) and match_fields(self.fields, obj)
