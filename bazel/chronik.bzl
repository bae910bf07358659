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
