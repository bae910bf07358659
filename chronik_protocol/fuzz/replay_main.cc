// Runs a libFuzzer target over files, without libFuzzer: the Bazel build compiles every fuzz
// target with the project's compiler and replays the seed corpus, so a target that no longer
// builds or crashes on its seeds fails the ordinary test run. tests/fuzz/run_fuzzers.sh does
// the actual fuzzing with clang.

#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int Replay(const std::string& path) {
  int n = 0;
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const int r = Replay(path + "/" + name);
      if (r < 0) {
        ::closedir(d);
        return r;
      }
      n += r;
    }
    ::closedir(d);
    return n;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return -1;
  }
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  // Every prefix too: truncation is the most common malformation.
  for (size_t k = 0; k < data.size(); ++k) LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), k);
  return 1;
}

}  // namespace

// Every named corpus must exist and hold at least one input: a corpus that went missing (a
// renamed directory, a glob that matches nothing) fails the test instead of passing on nothing.
int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS...\n", argv[0]);
    return 1;
  }
  int n = 0;
  for (int i = 1; i < argc; ++i) {
    const int r = Replay(argv[i]);
    if (r <= 0) {
      std::fprintf(stderr, "%s: %s\n", argv[i], r < 0 ? "missing or unreadable" : "holds no inputs");
      return 1;
    }
    n += r;
  }
  std::printf("replayed %d inputs and all their prefixes\n", n);
  return 0;
}
