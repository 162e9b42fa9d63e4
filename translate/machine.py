"""The machine a figure was measured on: every absolute speed names its CPU."""

import os
import platform
import subprocess
import warnings


def cpu_model():
    """The CPU's model name.

    Returns:
        `lscpu`'s "Model name", else the platform's word for the processor,
        else "unknown CPU".
    """
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    names = [line.split(":", 1)[1].strip() for line in out.splitlines()
             if line.startswith("Model name:")]
    return names[0] if names else (platform.processor() or "unknown CPU")


def describe():
    """The CPU and its core count, as reports print them: "AMD EPYC ..., 2 cores"."""
    return f"{cpu_model()}, {os.cpu_count()} cores"


BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
"""CPU flags (Linux `/proc/cpuinfo`) of native bfloat16 matrix arithmetic."""


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags, a set of strings (empty where unknown)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_bfloat16_matmuls(flags=None):
    """Whether the CPU multiplies bfloat16 matrices natively (AVX512-BF16 or
    AMX-BF16), where oneDNN's bfloat16 matmuls beat float32's.

    Args:
        flags: the CPU flags (`cpu_flags()` by default).
    """
    flags = cpu_flags() if flags is None else flags
    return any(flag in flags for flag in BFLOAT16_FLAGS)


def warn_if_bfloat16_is_slow(what, flags=None):
    """A `UserWarning` that `what` computes in bfloat16 where this CPU does
    not multiply it natively (`has_bfloat16_matmuls`): slower than float32
    there. Nothing on a CPU that does.

    Args:
        what: the subject of the message, e.g. an export's path.
        flags: the CPU flags (`cpu_flags()` by default).
    """
    if not has_bfloat16_matmuls(flags):
        warnings.warn(f"{what} computes its output projection in bfloat16, which this CPU "
                      "does not multiply natively (no AVX512-BF16 or AMX): slower here than "
                      "float32 (--inference-precision float32).", stacklevel=3)
