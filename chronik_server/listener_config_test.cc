#include "chronik_server/listener_config.h"

#include "gtest/gtest.h"

namespace chronik::server {
namespace {

using ingest::SecurityProtocol;

config::ServerConfig Flags() {
  config::ServerConfig cfg;
  cfg.bind_addr = "127.0.0.1";
  cfg.kafka_port = 19092;
  cfg.advertised_host = "broker.example";
  cfg.advertised_port = 29092;
  return cfg;
}

TEST(ParseListeners, FlagsMakeOnePlaintextListener) {
  absl::StatusOr<std::vector<ListenerSpec>> l = ParseListeners({}, Flags());
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].name, "PLAINTEXT");
  EXPECT_EQ((*l)[0].protocol, SecurityProtocol::kPlaintext);
  EXPECT_EQ((*l)[0].port, 19092);
  EXPECT_EQ((*l)[0].advertised_host, "broker.example");
  EXPECT_EQ((*l)[0].advertised_port, 29092);
}

TEST(ParseListeners, NamedListenersWithMapMechanismsAndTls) {
  std::map<std::string, std::string> props = {
      {"listeners", "PLAINTEXT://127.0.0.1:9092, internal://[::1]:9094 ,SASL_SSL://0.0.0.0:9093"},
      {"advertised.listeners", "SASL_SSL://public.example:443,INTERNAL://[::1]:9094"},
      {"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"},
      {"sasl.enabled.mechanisms", "SCRAM-SHA-512"},
      {"listener.name.internal.sasl.enabled.mechanisms", "PLAIN, SCRAM-SHA-256"},
      {"ssl.keystore.location", "/x/server.pem"},
      {"listener.name.sasl_ssl.ssl.client.auth", "requested"},
      {"ssl.truststore.location", "/x/ca.pem"},
  };
  absl::StatusOr<std::vector<ListenerSpec>> l = ParseListeners(props, Flags());
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[1].name, "INTERNAL");
  EXPECT_EQ((*l)[1].protocol, SecurityProtocol::kSaslPlaintext);
  EXPECT_EQ((*l)[1].bind_host, "::1");
  EXPECT_EQ((*l)[1].sasl_mechanisms, (std::vector<std::string>{"PLAIN", "SCRAM-SHA-256"}));
  EXPECT_FALSE((*l)[1].tls.has_value());
  EXPECT_EQ((*l)[2].advertised_host, "public.example");
  EXPECT_EQ((*l)[2].advertised_port, 443);
  EXPECT_EQ((*l)[2].sasl_mechanisms, (std::vector<std::string>{"SCRAM-SHA-512"}));
  ASSERT_TRUE((*l)[2].tls.has_value());
  EXPECT_EQ((*l)[2].tls->client_auth, ClientAuth::kRequested);
  EXPECT_EQ((*l)[2].tls->keystore_location, "/x/server.pem");
  EXPECT_EQ((*l)[0].advertised_host, "127.0.0.1");
}

TEST(ParseListeners, RefusesWhatCannotWork) {
  auto error = [](std::map<std::string, std::string> props) {
    absl::StatusOr<std::vector<ListenerSpec>> l = ParseListeners(props, Flags());
    return l.ok() ? std::string("ok") : std::string(l.status().message());
  };
  EXPECT_NE(error({{"listeners", "PLAINTEXT://:1,PLAINTEXT://:2"}}).find("used twice"), std::string::npos);
  EXPECT_NE(error({{"listeners", "A://:1,B://:1"}, {"listener.security.protocol.map", "A:PLAINTEXT,B:PLAINTEXT"}})
                .find("port 1"),
            std::string::npos);
  EXPECT_NE(error({{"listeners", "FOO://:1"}}).find("no security protocol for listener FOO"), std::string::npos);
  EXPECT_NE(error({{"listeners", "PLAINTEXT://:1"}, {"advertised.listeners", "SSL://h:1"}}).find("SSL"),
            std::string::npos);
  EXPECT_NE(error({{"listeners", "SASL_PLAINTEXT://:1"}, {"sasl.enabled.mechanisms", "GSSAPI"}}).find("GSSAPI"),
            std::string::npos);
  EXPECT_NE(error({{"listeners", "SSL://:1"}}).find("ssl.keystore.location"), std::string::npos);
  EXPECT_NE(error({{"listeners", "SSL://:1"}, {"ssl.keystore.location", "/k"}, {"ssl.client.auth", "required"}})
                .find("trust store"),
            std::string::npos);
  EXPECT_NE(error({{"listeners", "SSL://:1"}, {"ssl.keystore.location", "/k"}, {"ssl.keystore.type", "JKS"}})
                .find("JKS"),
            std::string::npos);
  EXPECT_NE(error({{"listener.name.ssl.ssl.keystore.password", "x"}}).find("not a per-listener setting"),
            std::string::npos);
  EXPECT_NE(error({{"listeners", "PLAINTEXT://host"}}).find("no port"), std::string::npos);
  // The last group of an IPv6 address cannot be told from a port without brackets.
  EXPECT_NE(error({{"listeners", "PLAINTEXT://::1:9092"}}).find("brackets"), std::string::npos);
  EXPECT_NE(error({{"listeners", "PLAINTEXT://[::1:9092"}}).find("unclosed"), std::string::npos);
  EXPECT_NE(error({{"advertised.listeners", "PLAINTEXT://h:1"}}).find("only read together"), std::string::npos);
}

}  // namespace
}  // namespace chronik::server
