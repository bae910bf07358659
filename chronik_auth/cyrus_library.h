#pragma once

// Cyrus SASL's library (Debian's libsasl2-2), loaded when the first SASL listener starts instead
// of linked: a broker without SASL listeners then runs where it is not installed (a bare Debian
// 12, from a release archive), and one with them says what to install. Its mechanisms (PLAIN,
// SCRAM) are plugins Cyrus loads at run time from libsasl2-modules in either case.

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "absl/status/statusor.h"

namespace chronik::auth {

// The functions of libsasl2 the broker calls, with the signatures of Cyrus's own header.
struct CyrusLibrary {
  decltype(&::sasl_set_mutex) set_mutex;
  decltype(&::sasl_server_init) server_init;
  decltype(&::sasl_auxprop_add_plugin) auxprop_add_plugin;
  decltype(&::sasl_global_listmech) global_listmech;
  decltype(&::sasl_server_new) server_new;
  decltype(&::sasl_server_start) server_start;
  decltype(&::sasl_server_step) server_step;
  decltype(&::sasl_getprop) getprop;
  decltype(&::sasl_setprop) setprop;
  decltype(&::sasl_dispose) dispose;
  decltype(&::sasl_errstring) errstring;
  decltype(&::sasl_errdetail) errdetail;
};

// Loads libsasl2.so.2 once per process (later calls return the same answer). FailedPrecondition,
// naming the packages to install, when it is not there.
absl::StatusOr<const CyrusLibrary*> LoadCyrusLibrary();

}  // namespace chronik::auth
