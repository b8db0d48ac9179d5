"""What ``system=True`` adds to each beat: the program's and its host's figures, from the
standard library alone, on Linux, Windows and macOS."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
from collections.abc import Callable


class SystemStats:
    """The program's and its host's figures, from the standard library alone.

    Each figure comes from one source per OS (below); one the OS does not offer, or that fails to
    read, is left out of the beat rather than guessed, and never stops the beat.

    * ``process_cpu_ratio``: ``time.process_time()`` over the monotonic time since the last beat
      (1.0 is one core busy), everywhere.
    * ``process_memory_bytes``: Linux ``/proc/self/statm`` (resident pages × page size); Windows
      ``GetProcessMemoryInfo`` (working set, psapi); macOS ``getrusage`` ``ru_maxrss`` (the peak
      resident size: macOS offers no current one without a native module).
    * ``system_memory_used_ratio``: Linux ``/proc/meminfo`` (1 − MemAvailable / MemTotal); Windows
      ``GlobalMemoryStatusEx`` (dwMemoryLoad); macOS ``sysctl`` ``hw.memsize`` and
      ``vm.page_free_count`` (free pages only, so it reads high).
    * ``disk_free_ratio``: ``shutil.disk_usage`` of the program's own drive, everywhere.
    * ``load1``: ``os.getloadavg()`` (Linux and macOS; Windows has none).
    * ``uptime_seconds``: since this sender was made, on its monotonic clock.
    * info ``version`` (when given), ``python`` (``platform.python_version()``), ``os``
      (``platform.system()`` and ``platform.release()``).
    """

    def __init__(self, version: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self._cpu = (time.process_time(), self.started)
        self._info = {
            "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}"[:128],
        }
        if version:
            self._info["version"] = str(version)[:128]
        self._drive = os.path.dirname(os.path.abspath(sys.argv[0] if sys.argv and sys.argv[0] else "."))

    def info(self) -> dict[str, str]:
        return dict(self._info)

    def metrics(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for name, read in (
            ("process_cpu_ratio", self._cpu_ratio),
            ("process_memory_bytes", _process_memory),
            ("system_memory_used_ratio", _memory_used),
            ("disk_free_ratio", self._disk_free),
            ("load1", _load1),
        ):
            try:
                value = read()
            except Exception:  # a source this OS lacks or refuses: the figure is left out
                value = None
            if value is not None:
                found[name] = round(float(value), 6)
        found["uptime_seconds"] = round(self.clock() - self.started, 3)
        return found

    def _cpu_ratio(self) -> float | None:
        cpu, wall = time.process_time(), self.clock()
        last_cpu, last_wall = self._cpu
        self._cpu = (cpu, wall)
        return (cpu - last_cpu) / (wall - last_wall) if wall > last_wall else None

    def _disk_free(self) -> float:
        usage = shutil.disk_usage(self._drive)
        return usage.free / usage.total


def _process_memory() -> float | None:
    if sys.platform.startswith("linux"):
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    if sys.platform == "win32":
        return _windows_working_set()
    import resource  # Unix only

    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # bytes on macOS


def _memory_used() -> float | None:
    if sys.platform.startswith("linux"):
        with open("/proc/meminfo") as meminfo:
            values = {line.split(":")[0]: int(line.split()[1]) for line in meminfo if line.count(":") == 1}
        return 1.0 - values["MemAvailable"] / values["MemTotal"]
    if sys.platform == "win32":
        return _windows_memory_load()
    if sys.platform == "darwin":
        total, free = _sysctl("hw.memsize"), _sysctl("vm.page_free_count") * os.sysconf("SC_PAGE_SIZE")
        return 1.0 - free / total
    return None


def _load1() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _sysctl(name: str) -> int:
    import ctypes

    libc = ctypes.CDLL(None)
    value, size = ctypes.c_uint64(0), ctypes.c_size_t(8)
    if libc.sysctlbyname(name.encode(), ctypes.byref(value), ctypes.byref(size), None, 0) != 0:
        raise OSError(f"sysctl {name} failed")
    return value.value if size.value == 8 else value.value & 0xFFFFFFFF


def _windows_working_set() -> float:
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):
        _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD)] + [
            (name, ctypes.c_size_t)
            for name in (
                "PeakWorkingSetSize", "WorkingSetSize", "QuotaPeakPagedPoolUsage", "QuotaPagedPoolUsage",
                "QuotaPeakNonPagedPoolUsage", "QuotaNonPagedPoolUsage", "PagefileUsage", "PeakPagefileUsage",
            )
        ]  # fmt: skip

    counters = Counters()
    counters.cb = ctypes.sizeof(counters)
    process = ctypes.windll.kernel32.GetCurrentProcess()  # type: ignore[attr-defined]
    if not ctypes.windll.psapi.GetProcessMemoryInfo(process, ctypes.byref(counters), counters.cb):  # type: ignore[attr-defined]
        raise OSError("GetProcessMemoryInfo failed")
    return float(counters.WorkingSetSize)


def _windows_memory_load() -> float:
    import ctypes
    from ctypes import wintypes

    class Status(ctypes.Structure):
        _fields_ = [("dwLength", wintypes.DWORD), ("dwMemoryLoad", wintypes.DWORD)] + [
            (name, ctypes.c_ulonglong)
            for name in (
                "ullTotalPhys", "ullAvailPhys", "ullTotalPageFile", "ullAvailPageFile",
                "ullTotalVirtual", "ullAvailVirtual", "ullAvailExtendedVirtual",
            )
        ]  # fmt: skip

    status = Status()
    status.dwLength = ctypes.sizeof(status)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        raise OSError("GlobalMemoryStatusEx failed")
    return float(status.dwMemoryLoad) / 100.0
