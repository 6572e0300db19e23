"""``hdr-plugin`` / ``python -m hdr_plugin``: a process of its own, set up, then the CLI.

Process-wide settings (thread policies, the allocator) belong to whoever owns the
process: here, before numpy and torch are imported and read them; never when a host or a
test calls :func:`hdr_plugin.cli.main` in its own process.
"""

from __future__ import annotations

import ctypes
import os
import sys


def _reuse_freed_frames() -> None:
    """Keep freed frame-sized blocks in glibc's heap instead of returning them to the OS.

    By default glibc serves large blocks from fresh mappings and hands freed memory at the
    top of its heap back to the OS, so each frame's arrays fault their pages in again: half
    of a render's page faults (180,000 -> 90,000 for eight 1080p frames) and 0.2-0.5 s of
    system time. Elsewhere than glibc this does nothing.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 512 << 20)
    mallopt(m_trim_threshold, 1 << 30)


def main() -> int:
    """Set up this process for rendering, then run the command line."""
    # Idle worker threads that sleep instead of spinning leave the cores to the reader and
    # writer threads. OpenMP (torch): about 10 % less CPU for a render, and no slower.
    # OpenBLAS (numpy) spins its pool for a while after every call, even numpy's import:
    # 0.1 s CPU per process. Both are read when the library loads, hence before imports.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    # OCIO's info lines (the built-in OCIO 2.1 configs list inactive colourspaces they do
    # not have, said three times per load) are not a user's business; warnings still are.
    os.environ.setdefault("OCIO_LOGGING_LEVEL", "warning")
    _reuse_freed_frames()

    from hdr_plugin.cli import main as run_cli

    return run_cli()


if __name__ == "__main__":
    sys.exit(main())
