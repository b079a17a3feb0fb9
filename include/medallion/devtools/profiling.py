"""CPU profiles of the Spark JVM with Java Flight Recorder (JFR), which ships with the JDK.

The benchmark's ``--spark-profile DIR`` starts the Spark driver JVM with :func:`jfr_java_option`
(in ``local[N]`` mode the executors' tasks run in that JVM, so the recording covers the whole job);
:func:`hot_methods` then reads the recording with the JDK's ``jfr`` tool and counts, per Java
method, the execution samples taken while that method was on top of the stack (its *self* time).
JFR samples the running Java threads every 10-20 ms, so a method's share of the samples is its
share of the JVM's CPU time. Open the same file in JDK Mission Control for call trees.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

#: First bytes of every JFR recording file.
JFR_MAGIC = b"FLR\0"


def jfr_java_option(recording: Path) -> str:
    """The JVM option that records a JFR CPU profile of the whole JVM life into ``recording``.

    The file is written when the JVM exits (``dumponexit``); ``settings=profile`` samples the
    running Java threads twice as often as JFR's default settings.
    """
    return f"-XX:StartFlightRecording=filename={recording},settings=profile,dumponexit=true"


def spark_submit_java_options(option: str) -> str:
    """``option`` as one argument of ``spark-submit --driver-java-options``.

    Spark's launcher splits that value on whitespace unless quoted, so a recording path with a
    space would become two JVM arguments: the option is put in double quotes, with ``\\`` and
    ``"`` escaped by a backslash as the launcher's option-string parser expects.
    """
    return '"' + option.replace("\\", "\\\\").replace('"', '\\"') + '"'


def hot_methods(recording: Path, top: int = 15) -> tuple[int, list[tuple[str, int]]]:
    """The methods most often on top of the stack in ``recording``'s execution samples.

    Returns:
        ``(samples, [(method, samples on top), ...])``: the number of execution samples with a
        stack trace and the ``top`` methods by self samples, most frequent first (ties by name).
        A method is ``package.Class.method`` as ``jfr print`` names it, without the line number.

    Raises:
        FileNotFoundError: the JDK's ``jfr`` tool is not on ``PATH`` (a JRE without it), or
            ``recording`` does not exist.
        subprocess.CalledProcessError: ``jfr`` could not read the file (message from ``jfr``).
    """
    if not Path(recording).is_file():
        raise FileNotFoundError(f"no JFR recording at {recording}")
    tool = shutil.which("jfr")
    if tool is None:
        raise FileNotFoundError("the JDK's `jfr` tool is not on PATH; install a JDK (not a JRE) or read "
                                f"{recording} with JDK Mission Control")
    listing = subprocess.run([tool, "print", "--events", "jdk.ExecutionSample", "--stack-depth", "1", str(recording)],
                             capture_output=True, text=True, check=True).stdout
    counts: Counter[str] = Counter()
    in_stack = False
    for line in listing.splitlines():
        text = line.strip()
        if text.startswith("stackTrace = ["):
            in_stack = True
        elif in_stack:
            # The first line inside the brackets is the top frame: "pkg.Class.method(args) line: N".
            if text and text != "]":
                counts[text.split("(", 1)[0]] += 1
            in_stack = False
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return sum(counts.values()), ranked
