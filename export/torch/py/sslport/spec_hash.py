"""The spec's identity as the project computes it (dsl/io.ts): SHA-256 of the canonical JSON,
object keys sorted at every level, no spaces, numbers written the way JavaScript writes them."""
import hashlib
import json
import math


def js_number(x) -> str:
    """Number.prototype.toString: shortest round-trip digits, fixed notation for 1e-7 ≤ |x| < 1e21."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        x = float(x) if abs(x) >= 2 ** 53 else x
        if isinstance(x, int):
            return str(x)
    if not math.isfinite(x):
        raise ValueError(f"canonical JSON: {x} is not a finite number")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    r = repr(abs(x))  # shortest round-trip digits, like JavaScript's
    mant, _, exp = r.partition("e")
    e = int(exp) if exp else 0
    if "." in mant:
        intpart, frac = mant.split(".")
    else:
        intpart, frac = mant, ""
    digits = (intpart + frac).lstrip("0")
    # decimal exponent n such that value = 0.digits × 10^n
    lead_zeros = len(intpart + frac) - len((intpart + frac).lstrip("0"))
    n = len(intpart) + e - lead_zeros
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * (-n) + digits
    else:
        m = n - 1
        s = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if m > 0 else "-") + str(abs(m))
    return sign + s


def canonical_json(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        return js_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: [ord(c) for c in k])
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical_json(value[k]) for k in keys) + "}"
    raise TypeError(f"canonical JSON: cannot write {type(value).__name__}")


def spec_hash(spec: dict) -> str:
    """Hash of a spec whose defaults are all filled in (the generator writes such specs)."""
    return hashlib.sha256(canonical_json(spec).encode("utf-8")).hexdigest()
