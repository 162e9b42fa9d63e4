"""The machine a figure was measured on: every absolute speed names its CPU."""

import os
import platform
import subprocess


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
