"""The one place that says how project C++ is compiled: every package uses these macros."""

load("//bazel:arm64.bzl", "arm64_qemu_test")

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

def chronik_cc_test(name, copts = [], deps = [], size = "small", gtest = True, arm64 = True, tags = [], **kwargs):
    """A test with the project's warnings; a GoogleTest test with gtest_main unless gtest = False.

    Unless arm64 = False, the same test is also built for arm64 and run under qemu-aarch64, as
    <name>_arm64 (bazel/arm64.bzl); emulation is several times slower, so it gets a longer timeout."""
    test_deps = ["//third_party:gtest", "//third_party:gtest_main", "//third_party:gmock"] if gtest else []
    native.cc_test(
        name = name,
        copts = CHRONIK_COPTS + copts,
        deps = deps + test_deps,
        size = size,
        tags = tags,
        **kwargs
    )
    if arm64:
        arm64_qemu_test(
            name = name + "_arm64",
            binary = ":" + name,
            size = size,
            timeout = "long",
            tags = tags + ["arm64"],
            args = kwargs.get("args", []),
        )

def chronik_cc_benchmark(name, copts = [], deps = [], **kwargs):
    """A Google Benchmark binary: it measures and prints, it is not a test."""
    native.cc_binary(
        name = name,
        copts = CHRONIK_COPTS + copts,
        deps = deps + ["//third_party:benchmark", "//third_party:benchmark_main"],
        **kwargs
    )

def chronik_e2e_test(name, size = "medium", data = [], server = "//chronik_server", tags = [], **kwargs):
    """An end-to-end test: tests/e2e/<name>.py run with Debian's python3 against the built broker
    (`server`: the binary, or a launcher of it such as the arm64 build under qemu).

    Exclusive (brokers on loopback ports would only compete for two cores) and external (it depends
    on the real clients installed on the machine, so it is never served from a cache)."""
    native.sh_test(
        name = name,
        size = size,
        srcs = ["run_e2e.sh"],
        args = [
            "$(location %s)" % server,
            "$(location %s.py)" % name,
        ],
        data = ["broker.py", name + ".py", server] + data,
        tags = ["exclusive", "external"] + tags,
        **kwargs
    )
