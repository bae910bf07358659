"""Libraries from Debian's -dev packages, linked by name."""

def debian_library(name, libs, static = True, system_linkopts = [], **kwargs):
    """A cc_library for the Debian libraries `libs`, in link order (as `pkg-config --libs` gives it).

    Ordinary builds link the shared libraries. A release build (--config=release) links each one's
    static archive (lib<name>.a from the same -dev package) when `static`, so that the binary needs
    nothing on the machine it runs on beyond the base system. system_linkopts (-lrt, -pthread) are
    the C library's own and stay shared."""
    shared = ["-l" + lib for lib in libs]
    archived = ["-l:lib%s.a" % lib for lib in libs] if static else shared
    native.cc_library(
        name = name,
        linkopts = select({
            "//third_party:release": archived,
            "//conditions:default": shared,
        }) + system_linkopts,
        **kwargs
    )
