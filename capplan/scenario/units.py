"""Parsing of quantities with units: durations, rates, sizes, CPU and fractions.

A bare number whose unit one must guess is rejected for durations and rates; sizes and CPU
follow Kubernetes quantity rules, where a bare number has a defined meaning (bytes, cores).
"""

from __future__ import annotations

import math
import re

_NUM = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

SECONDS_PER_MONTH = 730 * 3600
"""A billing month: 730 hours, the convention cloud providers price by."""

DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
"""Go's and Prometheus' duration units (``m`` is minutes, ``ms`` milliseconds), and ``min``."""

MAX_DURATION_S = 366 * 86400.0
"""Longest duration anything in a scenario may have: a year."""
MAX_RATE = 1e7
"""Highest event rate, per second (ten million a second)."""
MAX_BYTES = 1e15
"""Largest size: a petabyte."""
MAX_CPU = 1024.0
"""Most CPU cores of one pod or node."""
MAX_BANDWIDTH = 1e13
"""Fastest link, bits per second (10 Tbps)."""

RATE_UNITS = {"s": 1.0, "sec": 1.0, "m": 1 / 60, "min": 1 / 60, "h": 1 / 3600, "d": 1 / 86400}
SIZE_UNITS = {
    "": 1,
    "B": 1,
    "k": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12,
    "Ki": 2**10, "KiB": 2**10, "Mi": 2**20, "MiB": 2**20, "Gi": 2**30, "GiB": 2**30,
    "Ti": 2**40, "TiB": 2**40,
}  # fmt: skip

_DURATION_PART = rf"{_NUM}\s*(ns|us|µs|ms|min|s|m|h|d|w)"
_DURATION_RE = re.compile(rf"^\s*(?:{_DURATION_PART}\s*)+$")
_DURATION_PARTS = re.compile(_DURATION_PART)
_RATE_RE = re.compile(rf"^\s*{_NUM}\s*/\s*(s|sec|m|min|h|d)\s*$")
_SIZE_RE = re.compile(rf"^\s*{_NUM}\s*([A-Za-z]*)\s*$")
_CPU_RE = re.compile(rf"^\s*{_NUM}\s*(m?)\s*$")
_BANDWIDTH_RE = re.compile(rf"^\s*{_NUM}\s*([KMGT]?)(bps|bit/s)\s*$")
_PERCENT_RE = re.compile(rf"^\s*{_NUM}\s*%\s*$")


def _finite(x: float, what: str, text: object) -> float:
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite")
    return x


def _at_most(x: float, limit: float, shown: str) -> float:
    if x > limit:
        raise ValueError(f"too large: at most {shown}")
    return x


def parse_duration(value: object) -> float:
    """'250ms', '2s', '1m', '1h30m', '5min' -> seconds (Go and Prometheus forms: ``m`` is a
    minute). A bare number is refused, but for 0: its unit is a guess."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '250ms' or '2s'")
    if isinstance(value, (int, float)):
        if value == 0:
            return 0.0
        raise ValueError(f"a duration needs a unit: write '{value}s' or '{value}ms'")
    if isinstance(value, str) and _DURATION_RE.match(value):
        total = math.fsum(
            float(m.group(1)) * DURATION_UNITS[m.group(2)] for m in _DURATION_PARTS.finditer(value)
        )
        return _at_most(_finite(total, "duration", value), MAX_DURATION_S, "366d")
    raise ValueError("expected a duration such as '250ms', '2s', '1m', '1h30m' or '5min'")


_MINUTES_ONLY = re.compile(r"\s*[0-9.]+\s*m\s*")


def parse_cpu_time(value: object) -> float:
    """CPU time per request, a duration; but '50m' alone is refused: in a Kubernetes file
    it reads as 50 millicores, and as a duration it would be 50 minutes."""
    if isinstance(value, str) and _MINUTES_ONLY.fullmatch(value):
        raise ValueError(
            f"'{value.strip()}' would be {value.strip()[:-1]} minutes of CPU per request; for "
            f"milliseconds write '{value.strip()}s' (millicores are a rate, not a time)"
        )
    return parse_duration(value)


def parse_rate(value: object) -> float:
    """'3.2/s', '300/min', '1000/h' -> events per second."""
    if isinstance(value, str):
        m = _RATE_RE.match(value)
        if m:
            rate = _finite(float(m.group(1)) * RATE_UNITS[m.group(2)], "rate", value)
            return _at_most(rate, MAX_RATE, f"{MAX_RATE:g}/s")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"a rate needs a unit: write '{value}/s' or '{value}/min'")
    raise ValueError("expected a rate such as '3.2/s', '300/min' or '1000/h'")


def parse_bytes(value: object) -> float:
    """Kubernetes-style sizes: '4Gi', '500MB', '1.5G'; a bare number is bytes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _at_most(_finite(float(value), "size", value), MAX_BYTES, "1PB")
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m and m.group(2) in SIZE_UNITS:
            size = _finite(float(m.group(1)) * SIZE_UNITS[m.group(2)], "size", value)
            return _at_most(size, MAX_BYTES, "1PB")
    raise ValueError("expected a size such as '512Mi', '4Gi', '500MB' or a number of bytes")


def parse_cpu(value: object) -> float:
    """Kubernetes CPU quantities: '500m' or 2 -> cores."""
    cores: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        cores = float(value)
    elif isinstance(value, str):
        m = _CPU_RE.match(value)
        if m:
            x = float(m.group(1))
            cores = x / 1000 if m.group(2) == "m" else x
    if cores is None:
        raise ValueError("expected CPU as cores ('2', 0.5) or millicores ('500m')")
    return _at_most(_finite(cores, "CPU", value), MAX_CPU, f"{MAX_CPU:g} cores")


def parse_bandwidth(value: object) -> float:
    """'1Gbps', '100Mbps', '10Gbps' -> bits per second (decimal prefixes, as links are sold)."""
    if isinstance(value, str):
        m = _BANDWIDTH_RE.match(value)
        if m:
            scale = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m.group(2)]
            bps = _finite(float(m.group(1)) * scale, "bandwidth", value)
            return _at_most(bps, MAX_BANDWIDTH, "10Tbps")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"a bandwidth needs a unit: write '{value}Gbps' or '{value}Mbps'")
    raise ValueError("expected a bandwidth such as '1Gbps' or '100Mbps'")


_CLOCK_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_clock(value: object) -> float:
    """A clock time, '09:30' or '09:30:15', or a duration since midnight ('9h30m') ->
    seconds since midnight."""
    if isinstance(value, str):
        m = _CLOCK_RE.match(value)
        if m:
            h, mnt, sec = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            if h > 23 or mnt > 59 or sec > 59:
                raise ValueError("expected a clock time from 00:00 to 23:59:59")
            return h * 3600.0 + mnt * 60.0 + sec
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(
            "expected a clock time such as '09:30' or a duration such as '9h30m'"
        ) from None


def format_clock(seconds: float) -> str:
    """Seconds since midnight as a clock time: 52200 -> '14:30' (days roll over)."""
    s = round(seconds) % 86400
    day = int(seconds // 86400)
    text = f"{s // 3600:02d}:{s % 3600 // 60:02d}"
    return text if not day else f"day {day + 1} {text}"


def parse_fraction(value: object) -> float:
    """'70%' or 0.7 -> 0.7. Percent strings are the clearer form."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and value > 1:
            raise ValueError(
                f"a bare number is a fraction of 1: write '{value:g}%' for {value:g} percent"
            )
        if isinstance(value, int) and value > 1:
            raise ValueError(
                f"a bare number is a fraction of 1: write '{value}%' for {value} percent"
            )
        return float(value)
    if isinstance(value, str):
        m = _PERCENT_RE.match(value)
        if m:
            return float(m.group(1)) / 100
    raise ValueError("expected a fraction such as '70%' or 0.7")


def parse_objective(value: object) -> float:
    """An error-rate or availability objective: like a fraction, but a bare whole ``1``
    is refused, since people write ``1`` meaning one percent."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        raise ValueError(
            f"a bare {value} is ambiguous: write '{value}%' for {value} percent, or 1.0 for 100%"
        )
    return parse_fraction(value)


def format_duration(seconds: float) -> str:
    """Short human form used in reports: 0.0123 -> '12.3ms'."""
    if not math.isfinite(seconds):
        return "inf"
    if seconds < 1e-6:
        return "0"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f}ms" if seconds < 0.1 else f"{seconds * 1e3:.0f}ms"
    if seconds < 120:
        return f"{seconds:.2f}s"
    return f"{seconds / 60:.1f}min"
