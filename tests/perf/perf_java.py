"""What the benchmarks share: where their runfiles are, the Java client's classpath (tests/java,
built by tests/run_all.sh) for java_perf.py and txn_perf.py, and how a comparison's rounds are
summarised."""

import glob
import os
import random
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


def mean_interval(values, confidence=0.9, resamples=4000):
    """A percentile bootstrap interval of the mean of `values` (seeded, so a run's figures repeat):
    how far this machine's round-to-round noise lets the mean be trusted."""
    rnd = random.Random(0)
    means = sorted(statistics.fmean(rnd.choices(values, k=len(values))) for _ in range(resamples))
    tail = (1 - confidence) / 2
    return means[int(tail * resamples)], means[min(resamples - 1, int((1 - tail) * resamples))]


def ratio_summary(ratios):
    """A comparison's rounds, as search_perf.py and tiered_perf.py print them."""
    low, high = mean_interval(ratios)
    return "median %.2f; mean of rounds %.2f, 90 %% interval %.2f-%.2f; rounds %s" % (
        statistics.median(ratios), statistics.fmean(ratios), low, high, " ".join("%.2f" % x for x in ratios))
