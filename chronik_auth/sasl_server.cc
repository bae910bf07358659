#include "chronik_auth/sasl_server.h"

#include <cstring>
#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "chronik_auth/cyrus_library.h"
#include "spdlog/spdlog.h"

namespace chronik::auth {

// What Cyrus's callbacks of one exchange need: the store the password check and the auxprop
// plugin read. The auxprop plugin is process-wide, so it finds the exchange's store through the
// connection's password-check callback context.
struct SaslExchange::Context {
  const CredentialStore* credentials = nullptr;
  // PLAIN: why the password check failed (Cyrus's own detail names its fallback's failure).
  std::string check_detail;
  sasl_callback_t callbacks[2] = {};
};

namespace {

// Cyrus stores every callback as int (*)(void); void (*)(void) is the cast GCC accepts between them.
template <typename F>
sasl_callback_ft Callback(F* f) {
  return reinterpret_cast<sasl_callback_ft>(reinterpret_cast<void (*)()>(f));
}

constexpr char kPluginName[] = "chronik";
constexpr char kMechList[] = "PLAIN SCRAM-SHA-256 SCRAM-SHA-512";

int GetOpt(void*, const char*, const char* option, const char** result, unsigned* len) {
  const char* value = nullptr;
  if (std::strcmp(option, "mech_list") == 0) value = kMechList;
  if (std::strcmp(option, "auxprop_plugin") == 0) value = kPluginName;
  if (value == nullptr) return SASL_FAIL;
  *result = value;
  if (len != nullptr) *len = static_cast<unsigned>(std::strlen(value));
  return SASL_OK;
}

int Log(void*, int level, const char* message) {
  // Cyrus logs failed authentications at NOTE/FAIL; the broker reports them itself.
  if (level <= SASL_LOG_ERR) spdlog::warn("sasl: {}", message);
  return SASL_OK;
}

// No password file is ever read; no plugin but the two mechanisms is loaded.
int VerifyFile(void*, const char* file, sasl_verify_type_t type) {
  if (type == SASL_VRFY_PLUGIN) {
    const std::string_view f(file);
    return f.find("libplain.") != std::string_view::npos || f.find("libscram.") != std::string_view::npos ? SASL_OK : SASL_FAIL;
  }
  return SASL_FAIL;
}

void* MutexAlloc() { return new std::mutex; }
int MutexLock(void* m) {
  static_cast<std::mutex*>(m)->lock();
  return SASL_OK;
}
int MutexUnlock(void* m) {
  static_cast<std::mutex*>(m)->unlock();
  return SASL_OK;
}
void MutexFree(void* m) { delete static_cast<std::mutex*>(m); }

const CredentialStore* StoreOf(sasl_conn_t* conn, const sasl_utils_t* utils) {
  sasl_callback_ft proc = nullptr;
  void* context = nullptr;
  if (utils->getcallback(conn, SASL_CB_SERVER_USERDB_CHECKPASS, &proc, &context) != SASL_OK || context == nullptr) {
    return nullptr;
  }
  return static_cast<SaslExchange::Context*>(context)->credentials;
}

// RFC 5803's form, which the scram plugin parses: MECH$iterations:salt$StoredKey:ServerKey.
std::string AuthPassword(const ScramCredential& c) {
  return absl::StrCat(std::string(ScramMechanismName(c.mechanism)), "$", c.iterations, ":",
                      absl::Base64Escape(c.salt), "$", absl::Base64Escape(c.stored_key), ":",
                      absl::Base64Escape(c.server_key));
}

int AuxpropLookup(void*, sasl_server_params_t* sparams, unsigned flags, const char* user, unsigned ulen) {
  if (flags & SASL_AUXPROP_AUTHZID) return SASL_OK;
  const CredentialStore* store = StoreOf(sparams->utils->conn, sparams->utils);
  if (store == nullptr) return SASL_FAIL;
  const std::string name(user, ulen);
  std::vector<ScramCredential> credentials = store->ForUser(name);
  if (credentials.empty()) return SASL_NOUSER;
  for (const propval* cur = sparams->utils->prop_get(sparams->propctx); cur->name != nullptr; ++cur) {
    // Only the hashed secrets: never a cleartext userPassword, which SCRAM would prefer.
    if (std::strcmp(cur->name, "*authPassword") != 0) continue;
    if (cur->values != nullptr) {
      if (!(flags & SASL_AUXPROP_OVERRIDE)) continue;
      sparams->utils->prop_erase(sparams->propctx, cur->name);
    }
    for (const ScramCredential& c : credentials) {
      const std::string value = AuthPassword(c);
      sparams->utils->prop_set(sparams->propctx, cur->name, value.c_str(), static_cast<int>(value.size()));
    }
  }
  return SASL_OK;
}

int AuxpropInit(const sasl_utils_t*, int max_version, int* out_version, sasl_auxprop_plug_t** plug, const char*) {
  static sasl_auxprop_plug_t plugin = [] {
    sasl_auxprop_plug_t p{};
    p.auxprop_lookup = AuxpropLookup;
    p.name = const_cast<char*>(kPluginName);
    return p;
  }();
  if (max_version < SASL_AUXPROP_PLUG_VERSION) return SASL_BADVERS;
  *out_version = SASL_AUXPROP_PLUG_VERSION;
  *plug = &plugin;
  return SASL_OK;
}

// PLAIN's password check: against any SCRAM credential of the user.
int CheckPass(sasl_conn_t*, void* context, const char* user, const char* pass, unsigned passlen, propctx*) {
  auto* ctx = static_cast<SaslExchange::Context*>(context);
  std::vector<ScramCredential> credentials = ctx->credentials->ForUser(user);
  if (credentials.empty()) {
    ctx->check_detail = "unknown user";
    return SASL_NOUSER;
  }
  for (const ScramCredential& c : credentials) {
    if (PasswordMatches(c, std::string_view(pass, passlen))) return SASL_OK;
  }
  ctx->check_detail = "wrong password";
  return SASL_BADAUTH;
}

// Loads and initializes Cyrus once per process: the library and its mechanisms, or why not.
absl::StatusOr<const CyrusLibrary*> InitOnce() {
  static const absl::StatusOr<const CyrusLibrary*> result = []() -> absl::StatusOr<const CyrusLibrary*> {
    absl::StatusOr<const CyrusLibrary*> loaded = LoadCyrusLibrary();
    if (!loaded.ok()) return loaded.status();
    const CyrusLibrary& sasl = **loaded;
    static sasl_callback_t callbacks[] = {
        {SASL_CB_GETOPT, Callback(&GetOpt), nullptr},
        {SASL_CB_LOG, Callback(&Log), nullptr},
        {SASL_CB_VERIFYFILE, Callback(&VerifyFile), nullptr},
        {SASL_CB_LIST_END, nullptr, nullptr},
    };
    sasl.set_mutex(&MutexAlloc, &MutexLock, &MutexUnlock, &MutexFree);
    // No application name: no configuration file is read.
    if (int r = sasl.server_init(callbacks, nullptr); r != SASL_OK) {
      return absl::InternalError(absl::StrCat("Cyrus SASL cannot start: ", sasl.errstring(r, nullptr, nullptr)));
    }
    if (int r = sasl.auxprop_add_plugin(kPluginName, &AuxpropInit); r != SASL_OK) {
      return absl::InternalError(absl::StrCat("Cyrus SASL refused the credential plugin: ",
                                              sasl.errstring(r, nullptr, nullptr)));
    }
    // The mechanisms come from libsasl2-modules; without them nothing can authenticate.
    const char* const* mechs = sasl.global_listmech();
    std::string found;
    for (; mechs != nullptr && *mechs != nullptr; ++mechs) absl::StrAppend(&found, " ", *mechs);
    for (const char* m : {" PLAIN", " SCRAM-SHA-256", " SCRAM-SHA-512"}) {
      if (!absl::StrContains(absl::StrCat(found, " "), absl::StrCat(m, " "))) {
        return absl::FailedPreconditionError(absl::StrCat(
            "Cyrus SASL has no", m, " mechanism (is libsasl2-modules installed?); it has:", found));
      }
    }
    return *loaded;
  }();
  return result;
}

}  // namespace

SaslExchange::SaslExchange(const CyrusLibrary& sasl, std::string mechanism, std::unique_ptr<Context> context)
    : sasl_(sasl), mechanism_(std::move(mechanism)), context_(std::move(context)) {}

SaslExchange::~SaslExchange() {
  if (conn_ != nullptr) sasl_.dispose(&conn_);
}

absl::StatusOr<SaslExchange::Step> SaslExchange::Next(std::string_view client_token) {
  auto failed = [this] {
    finished_ = true;
    return absl::UnauthenticatedError(absl::StrCat(
        "Authentication failed during authentication due to invalid credentials with SASL mechanism ", mechanism_));
  };
  if (finished_) return failed();
  const char* out = nullptr;
  unsigned out_len = 0;
  int r;
  if (!started_) {
    started_ = true;
    r = sasl_.server_start(conn_, mechanism_.c_str(), client_token.data(), static_cast<unsigned>(client_token.size()),
                          &out, &out_len);
  } else {
    r = sasl_.server_step(conn_, client_token.data(), static_cast<unsigned>(client_token.size()), &out, &out_len);
  }
  if (r != SASL_OK && r != SASL_CONTINUE) {
    // Cyrus's detail is for the broker's log only: the client learns no more than Kafka tells it.
    detail_ = context_->check_detail.empty() ? sasl_.errdetail(conn_) : context_->check_detail;
    return failed();
  }
  Step step;
  if (out != nullptr) step.challenge.assign(out, out_len);
  if (r == SASL_OK) {
    const void* name = nullptr;
    if (sasl_.getprop(conn_, SASL_USERNAME, &name) != SASL_OK || name == nullptr) return failed();
    user_ = static_cast<const char*>(name);
    step.done = true;
    finished_ = true;
  }
  return step;
}

absl::StatusOr<std::unique_ptr<SaslServer>> SaslServer::Create(const CredentialStore& credentials,
                                                               std::string host_name) {
  absl::StatusOr<const CyrusLibrary*> sasl = InitOnce();
  if (!sasl.ok()) return sasl.status();
  if (host_name.empty()) host_name = "localhost";
  return std::unique_ptr<SaslServer>(new SaslServer(**sasl, credentials, std::move(host_name)));
}

absl::StatusOr<std::unique_ptr<SaslExchange>> SaslServer::Start(std::string_view mechanism) const {
  auto context = std::make_unique<SaslExchange::Context>();
  context->credentials = &credentials_;
  context->callbacks[0] = {SASL_CB_SERVER_USERDB_CHECKPASS, Callback(&CheckPass),
                           context.get()};
  context->callbacks[1] = {SASL_CB_LIST_END, nullptr, nullptr};
  std::unique_ptr<SaslExchange> exchange(new SaslExchange(sasl_, std::string(mechanism), std::move(context)));
  // A server name given, so that Cyrus does not resolve the host's (a DNS lookup per exchange); no
  // realm, so user names are looked up as the client sent them. SASL_SUCCESS_DATA: SCRAM's final
  // message travels with the success, as Kafka's SaslAuthenticate carries it.
  int r = sasl_.server_new("kafka", host_name_.c_str(), nullptr, nullptr, nullptr, exchange->context_->callbacks,
                          SASL_SUCCESS_DATA, &exchange->conn_);
  if (r != SASL_OK) {
    return absl::InternalError(absl::StrCat("Cyrus SASL cannot start an exchange: ", sasl_.errstring(r, nullptr, nullptr)));
  }
  sasl_security_properties_t props{};
  props.max_ssf = 0;  // Kafka has no SASL security layer; TLS protects the connection.
  props.maxbufsize = 0;
  props.security_flags = 0;  // PLAIN is allowed where the operator enabled it
  if (r = sasl_.setprop(exchange->conn_, SASL_SEC_PROPS, &props); r != SASL_OK) {
    return absl::InternalError(absl::StrCat("Cyrus SASL refused its properties: ", sasl_.errstring(r, nullptr, nullptr)));
  }
  return exchange;
}

}  // namespace chronik::auth
