#include "chronik_server/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace chronik::server {
namespace {

namespace ssl = boost::asio::ssl;

std::string OpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

absl::Status Fail(std::string_view what, const std::string& detail) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": ", detail));
}

constexpr std::string_view kTls13Suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                             "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256",
                                             "TLS_AES_128_CCM_8_SHA256"};

// Whether `name` is one OpenSSL cipher's name (not a cipher string such as "HIGH:!aNULL").
bool KnownOpenSslCipher(const std::string& name) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> probe(SSL_CTX_new(TLS_method()), &SSL_CTX_free);
  if (probe == nullptr || SSL_CTX_set_cipher_list(probe.get(), name.c_str()) != 1) {
    ERR_clear_error();
    return false;
  }
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(probe.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    if (name == SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i))) return true;
  }
  return false;
}

// Every certificate of a PEM buffer into the context's trust store.
absl::Status AddTrusted(SSL_CTX* ctx, const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);
    X509_free(cert);
    ++added;
  }
  ERR_clear_error();  // the end of the buffer reads as an error
  if (added == 0) return Fail("ssl.truststore.certificates", "holds no PEM certificate");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TlsEndpoint>> BuildTlsEndpoint(const TlsSettings& settings) {
  absl::StatusOr<auth::PrincipalMapper> mapper = auth::PrincipalMapper::Parse(settings.principal_mapping_rules);
  if (!mapper.ok()) return mapper.status();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();
  bool v12 = false, v13 = false;
  for (const std::string& p : settings.enabled_protocols) {
    v12 = v12 || p == "TLSv1.2";
    v13 = v13 || p == "TLSv1.3";
  }
  SSL_CTX_set_min_proto_version(ctx, v12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, v13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  if (!settings.cipher_suites.empty()) {
    // Kafka users write IANA names (TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, as Java does); OpenSSL
    // names are accepted too. TLS 1.3 suites go to their own list. A name neither knows is refused:
    // silently keeping the defaults would leave ciphers on that the operator meant to turn off.
    std::vector<std::string> tls13, tls12;
    for (const std::string& c : settings.cipher_suites) {
      if (std::find(std::begin(kTls13Suites), std::end(kTls13Suites), c) != std::end(kTls13Suites)) {
        tls13.push_back(c);
        continue;
      }
      const std::string openssl_name = OPENSSL_cipher_name(c.c_str());
      if (openssl_name != "(NONE)") {
        tls12.push_back(openssl_name);
      } else if (KnownOpenSslCipher(c)) {
        tls12.push_back(c);
      } else {
        return Fail("ssl.cipher.suites", absl::StrCat(c, " is not a cipher suite this OpenSSL knows"));
      }
    }
    if (tls12.empty() && v12) {
      return Fail("ssl.cipher.suites", "names no TLS 1.2 cipher, but TLSv1.2 is in ssl.enabled.protocols");
    }
    if (tls13.empty() && v13) {
      return Fail("ssl.cipher.suites", "names no TLS 1.3 suite, but TLSv1.3 is in ssl.enabled.protocols");
    }
    if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, absl::StrJoin(tls12, ":").c_str()) != 1) {
      return Fail("ssl.cipher.suites", absl::StrCat("no usable TLS 1.2 cipher in ", absl::StrJoin(tls12, ",")));
    }
    if (!tls13.empty() && SSL_CTX_set_ciphersuites(ctx, absl::StrJoin(tls13, ":").c_str()) != 1) {
      return Fail("ssl.cipher.suites", absl::StrCat("no usable TLS 1.3 suite in ", absl::StrJoin(tls13, ",")));
    }
  }
  if (settings.key_password.has_value()) {
    const std::string password = *settings.key_password;
    context->set_password_callback([password](size_t, ssl::context::password_purpose) { return password; });
  }
  boost::system::error_code ec;
  if (!settings.keystore_location.empty()) {
    context->use_certificate_chain_file(settings.keystore_location, ec);
    if (ec) return Fail("ssl.keystore.location", absl::StrCat(settings.keystore_location, ": no certificate chain: ", OpenSslError()));
    context->use_private_key_file(settings.keystore_location, ssl::context::pem, ec);
    if (ec) return Fail("ssl.keystore.location", absl::StrCat(settings.keystore_location, ": no usable private key (or a wrong ssl.key.password): ", OpenSslError()));
  } else {
    context->use_certificate_chain(boost::asio::buffer(settings.keystore_certificate_chain), ec);
    if (ec) return Fail("ssl.keystore.certificate.chain", absl::StrCat("not a PEM certificate chain: ", OpenSslError()));
    context->use_private_key(boost::asio::buffer(settings.keystore_key), ssl::context::pem, ec);
    if (ec) return Fail("ssl.keystore.key", absl::StrCat("not a usable PEM private key (or a wrong ssl.key.password): ", OpenSslError()));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Fail("ssl.keystore", "the private key does not belong to the certificate");
  }
  if (!settings.truststore_location.empty()) {
    context->load_verify_file(settings.truststore_location, ec);
    if (ec) return Fail("ssl.truststore.location", absl::StrCat(settings.truststore_location, ": ", OpenSslError()));
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.truststore_location.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
  } else if (!settings.truststore_certificates.empty()) {
    if (absl::Status s = AddTrusted(ctx, settings.truststore_certificates); !s.ok()) return s;
  }
  switch (settings.client_auth) {
    case ClientAuth::kNone:
      context->set_verify_mode(ssl::verify_none);
      break;
    case ClientAuth::kRequested:
      context->set_verify_mode(ssl::verify_peer);
      break;
    case ClientAuth::kRequired:
      context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      break;
  }
  static const unsigned char kSessionContext[] = "chronik";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  auto endpoint = std::make_shared<TlsEndpoint>(TlsEndpoint{std::move(context), *std::move(mapper), settings.client_auth});
  return std::shared_ptr<const TlsEndpoint>(std::move(endpoint));
}

std::optional<std::string> PeerSubject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  std::unique_ptr<X509, decltype(&X509_free)> owned(cert, &X509_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::Status TlsHolder::Reload() {
  absl::StatusOr<std::shared_ptr<const TlsEndpoint>> endpoint = BuildTlsEndpoint(settings_);
  if (!endpoint.ok()) return endpoint.status();
  std::lock_guard<std::mutex> lock(mu_);
  current_ = *std::move(endpoint);
  return absl::OkStatus();
}

std::shared_ptr<const TlsEndpoint> TlsHolder::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

}  // namespace chronik::server
