#pragma once

// What a binary was built from and how: the text of `chronik_server version`.

#include <string>
#include <string_view>

namespace chronik::config {

inline constexpr std::string_view kChronikVersion = "0.1.0";

// "linux-amd64" or "linux-arm64": the architecture the binary was compiled for.
std::string BuildArchitecture();

// The git commit of a release build (release/make_release.sh stamps it), or "unstamped".
std::string BuildCommit();

// Several lines: "chronik <version>", then the commit, the architecture and the compile options
// (compiler, compilation mode, how the third-party libraries are linked).
std::string BuildInfoText();

}  // namespace chronik::config
