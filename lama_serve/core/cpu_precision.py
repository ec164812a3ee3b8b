"""Which float precision the CPU runtime should use, from the CPU's feature flags.

bf16 pays off only where the CPU multiplies bf16 in hardware: Intel AMX (`amx_bf16`,
Sapphire/Emerald Rapids and later) or AVX-512 BF16 (`avx512_bf16`, Cooper Lake, AMD Zen 4+).
Elsewhere bf16 is emulated and slower than f32. Stdlib only: used inside Triton's stub (the
load-time gate) and by the exporter (the export-time check), so it lives in core.
"""

from __future__ import annotations

from pathlib import Path

BF16 = "bf16"
F32 = "f32"
PRECISIONS = (BF16, F32)
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
CPUINFO = Path("/proc/cpuinfo")


def parse_cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The `flags` of /proc/cpuinfo text (x86; the first processor's line, they agree)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def choose_precision(flags: frozenset[str]) -> str:
    """bf16 with hardware bf16 matmuls, else f32."""
    return BF16 if flags & BF16_FLAGS else F32


def host_precision(cpuinfo: Path = CPUINFO) -> tuple[str, frozenset[str]]:
    """(precision, the bf16 flags found) for this host; no /proc/cpuinfo means f32."""
    try:
        flags = parse_cpu_flags(cpuinfo.read_text())
    except OSError:
        flags = frozenset()
    return choose_precision(flags), flags & BF16_FLAGS
