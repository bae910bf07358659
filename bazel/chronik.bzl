"""The one place that says how project C++ is compiled: every package uses these macros."""

CHRONIK_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]

def chronik_cc_library(name, copts = [], **kwargs):
    native.cc_library(name = name, copts = CHRONIK_COPTS + copts, **kwargs)

def chronik_cc_binary(name, copts = [], **kwargs):
    native.cc_binary(name = name, copts = CHRONIK_COPTS + copts, **kwargs)

def chronik_cc_test(name, copts = [], deps = [], size = "small", gtest = True, **kwargs):
    """A test with the project's warnings; a GoogleTest test with gtest_main unless gtest = False."""
    test_deps = ["//third_party:gtest", "//third_party:gtest_main", "//third_party:gmock"] if gtest else []
    native.cc_test(
        name = name,
        copts = CHRONIK_COPTS + copts,
        deps = deps + test_deps,
        size = size,
        **kwargs
    )

def chronik_cc_benchmark(name, copts = [], deps = [], **kwargs):
    """A Google Benchmark binary: it measures and prints, it is not a test."""
    native.cc_binary(
        name = name,
        copts = CHRONIK_COPTS + copts,
        deps = deps + ["//third_party:benchmark", "//third_party:benchmark_main"],
        **kwargs
    )

def chronik_e2e_test(name, size = "medium", data = [], **kwargs):
    """An end-to-end test: tests/e2e/<name>.py run with Debian's python3 against the built broker.

    Exclusive (brokers on loopback ports would only compete for two cores) and external (it depends
    on the real clients installed on the machine, so it is never served from a cache)."""
    native.sh_test(
        name = name,
        size = size,
        srcs = ["run_e2e.sh"],
        args = [
            "$(location //chronik_server)",
            "$(location %s.py)" % name,
        ],
        data = ["broker.py", name + ".py", "//chronik_server"] + data,
        tags = ["exclusive", "external"],
        **kwargs
    )
