"""What the benchmarks share: where their runfiles are, the Java client's classpath (tests/java,
built by tests/run_all.sh) for java_perf.py and txn_perf.py, and how a comparison's rounds are
summarised."""

import glob
import os
import statistics
import sys


def runfiles_root(script):
    """The workspace as Bazel's runfiles lay it out for `script`, or the source tree."""
    here = os.path.join(os.environ.get("RUNFILES_DIR", os.path.abspath(script) + ".runfiles"), "chronik")
    if not os.path.isdir(here):
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(script))))
    return here


def java_classpath(here):
    """The classpath of tests/java's jar and its dependencies; exits if it is not built."""
    java = os.path.join(here, "tests", "java", "target")
    jar = os.path.join(java, "java-clients-1.jar")
    if not os.path.exists(jar):
        sys.exit("the Java client is not built: run tests/run_all.sh (mvn package in tests/java)")
    return ":".join([jar] + sorted(glob.glob(os.path.join(java, "lib", "*.jar"))))


# Student's t at 0.95 (a two-sided 90 % interval) by degrees of freedom; between rows, the row
# below (wider).
_T90 = [(1, 6.314), (2, 2.920), (3, 2.353), (4, 2.132), (5, 2.015), (6, 1.943), (7, 1.895), (8, 1.860),
        (9, 1.833), (10, 1.812), (12, 1.782), (15, 1.753), (20, 1.725), (30, 1.697), (60, 1.671), (120, 1.658)]


def mean_interval(values):
    """A 90 % interval of the mean of `values` (Student's t), how far this machine's round-to-round
    noise lets the mean be trusted; None for fewer than two values."""
    if len(values) < 2:
        return None
    df = len(values) - 1
    t = next((t for rows_df, t in reversed(_T90) if rows_df <= df), _T90[0][1])
    half = t * statistics.stdev(values) / len(values) ** 0.5
    mean = statistics.fmean(values)
    return mean - half, mean + half


def ratio_summary(ratios):
    """A comparison's rounds, as search_perf.py and tiered_perf.py print them."""
    interval = mean_interval(ratios)
    return "median %.2f; mean of rounds %.2f%s; rounds %s" % (
        statistics.median(ratios), statistics.fmean(ratios),
        ", 90 %% interval %.2f-%.2f" % interval if interval else "", " ".join("%.2f" % x for x in ratios))
