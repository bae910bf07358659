#include "chronik_auth/cyrus_library.h"

#include <dlfcn.h>

#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace chronik::auth {
namespace {

constexpr char kLibrary[] = "libsasl2.so.2";

absl::StatusOr<CyrusLibrary> Load() {
  // Global: Cyrus's plugins are shared objects of their own that may resolve its symbols.
  void* handle = ::dlopen(kLibrary, RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return absl::FailedPreconditionError(absl::StrCat(
        "SASL needs Cyrus SASL, which is not installed (", why != nullptr ? why : kLibrary,
        "); on Debian: apt-get install libsasl2-2 libsasl2-modules"));
  }
  CyrusLibrary lib{};
  std::string missing;
  auto bind = [&](auto& fn, const char* name) {
    void* symbol = ::dlsym(handle, name);
    if (symbol == nullptr) absl::StrAppend(&missing, " ", name);
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(symbol);
  };
  bind(lib.set_mutex, "sasl_set_mutex");
  bind(lib.server_init, "sasl_server_init");
  bind(lib.auxprop_add_plugin, "sasl_auxprop_add_plugin");
  bind(lib.global_listmech, "sasl_global_listmech");
  bind(lib.server_new, "sasl_server_new");
  bind(lib.server_start, "sasl_server_start");
  bind(lib.server_step, "sasl_server_step");
  bind(lib.getprop, "sasl_getprop");
  bind(lib.setprop, "sasl_setprop");
  bind(lib.dispose, "sasl_dispose");
  bind(lib.errstring, "sasl_errstring");
  bind(lib.errdetail, "sasl_errdetail");
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(kLibrary, " lacks functions the broker calls:", missing));
  }
  return lib;
}

}  // namespace

absl::StatusOr<const CyrusLibrary*> LoadCyrusLibrary() {
  // Never unloaded: Cyrus keeps global state for the life of the process.
  static const absl::StatusOr<CyrusLibrary>* const loaded = new absl::StatusOr<CyrusLibrary>(Load());
  if (!loaded->ok()) return loaded->status();
  return &**loaded;
}

}  // namespace chronik::auth
