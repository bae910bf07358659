#include "chronik_config/build_info.h"

#include "absl/strings/str_cat.h"

// Set by the BUILD file from Bazel's make variables, so that only this file is compiled again when
// a release stamps its commit.
#ifndef CHRONIK_GIT_COMMIT
#error "CHRONIK_GIT_COMMIT is set by chronik_config/BUILD.bazel"
#endif

namespace chronik::config {

std::string BuildArchitecture() {
#if defined(__x86_64__)
  return "linux-amd64";
#elif defined(__aarch64__)
  return "linux-arm64";
#else
#error "chronik builds for x86-64 and arm64"
#endif
}

std::string BuildCommit() { return CHRONIK_GIT_COMMIT; }

std::string BuildInfoText() {
  const char* linkage =
#if defined(CHRONIK_RELEASE_LINKAGE)
      "third-party libraries static";
#else
      "third-party libraries shared";
#endif
  return absl::StrCat("chronik ", std::string(kChronikVersion), "\n",                         //
                      "commit: ", BuildCommit(), "\n",                             //
                      "architecture: ", BuildArchitecture(), "\n",                 //
                      "compiler: GCC ", __VERSION__, ", -c ", CHRONIK_COMPILATION_MODE,
#if defined(__OPTIMIZE__)
                      " (optimized)",
#endif
                      ", C++ ", __cplusplus, "\n",  //
                      "linkage: ", linkage, "\n");
}

}  // namespace chronik::config
