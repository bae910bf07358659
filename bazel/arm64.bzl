"""Targets built for Linux on arm64 from the same BUILD files, and run here under qemu-aarch64.

`--config=arm64` builds a whole invocation for arm64; the rules here build one dependency for
arm64 inside an ordinary (amd64) build, so that `bazel test //...` also runs the arm64 build of
each test under Debian's qemu-user (called by path: the machines have no binfmt_misc)."""

QEMU_AARCH64 = "/usr/bin/qemu-aarch64"

def _arm64_transition_impl(settings, attr):
    return {
        "//command_line_option:cpu": "aarch64",
        "//command_line_option:crosstool_top": "//bazel/toolchains:suite",
    }

arm64_transition = transition(
    implementation = _arm64_transition_impl,
    inputs = [],
    outputs = [
        "//command_line_option:cpu",
        "//command_line_option:crosstool_top",
    ],
)

def _under_qemu_impl(ctx):
    target = ctx.attr.binary[0]
    binary = target[DefaultInfo].files_to_run.executable
    launcher = ctx.actions.declare_file(ctx.label.name)

    # Tests start in their runfiles tree; a broker started by an end-to-end test finds it through
    # TEST_SRCDIR; `bazel run` and direct calls through the launcher's own .runfiles.
    ctx.actions.write(
        output = launcher,
        is_executable = True,
        content = """#!/bin/sh
runfiles="${{TEST_SRCDIR:-${{RUNFILES_DIR:-$0.runfiles}}}}"
exec {qemu} "$runfiles/{workspace}/{binary}" "$@"
""".format(qemu = QEMU_AARCH64, workspace = ctx.workspace_name, binary = binary.short_path),
    )
    runfiles = ctx.runfiles(files = [binary]).merge(target[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = launcher, runfiles = runfiles, files = depset([launcher, binary]))]

_ATTRS = {
    "binary": attr.label(cfg = arm64_transition, executable = True, mandatory = True),
    "_allowlist_function_transition": attr.label(
        default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
    ),
}

# An executable that runs `binary`, built for arm64, under qemu-aarch64.
arm64_under_qemu = rule(implementation = _under_qemu_impl, attrs = _ATTRS, executable = True)

# The same as a test: the arm64 build of a cc_test, run under qemu-aarch64.
arm64_qemu_test = rule(implementation = _under_qemu_impl, attrs = _ATTRS, test = True)
