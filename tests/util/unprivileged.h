#pragma once

// For tests of permission errors. Root ignores file permissions, and the suite runs as root on CI,
// so such a test drops its effective user to nobody for the checked call instead of skipping
// itself; run as anyone else it changes nothing. Its files live in a directory every user can
// traverse (a test's own temp dir may sit under a home only its owner can enter).

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace chronik::testing {

inline constexpr uid_t kNobody = 65534;

// A fresh directory under /tmp, mode 0755, removed with its contents on destruction.
class TraversableTempDir {
 public:
  TraversableTempDir() {
    std::string tmpl = "/tmp/chronik-perm.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr || ::chmod(tmpl.c_str(), 0755) != 0) std::abort();
    path_ = tmpl;
  }
  ~TraversableTempDir() {
    std::error_code ec;
    for (const auto& e : std::filesystem::recursive_directory_iterator(path_, ec)) {
      std::filesystem::permissions(e.path(), std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    }
    std::filesystem::remove_all(path_, ec);
  }
  TraversableTempDir(const TraversableTempDir&) = delete;
  TraversableTempDir& operator=(const TraversableTempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// While alive, the process's effective user and group are nobody's if it runs as root.
class DropPrivileges {
 public:
  DropPrivileges() : was_root_(::geteuid() == 0) {
    if (was_root_ && (::setegid(kNobody) != 0 || ::seteuid(kNobody) != 0)) {
      std::perror("dropping to user nobody");
      std::abort();
    }
  }
  ~DropPrivileges() {
    if (was_root_ && (::seteuid(0) != 0 || ::setegid(0) != 0)) std::abort();
  }
  DropPrivileges(const DropPrivileges&) = delete;
  DropPrivileges& operator=(const DropPrivileges&) = delete;

 private:
  const bool was_root_;
};

}  // namespace chronik::testing
