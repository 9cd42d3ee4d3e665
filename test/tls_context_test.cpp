#include "net/tls_context.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <stdexcept>
#include <string>

#include "net/tls_self_signed.hpp"
#include "support/process.hpp"
#include "support/tls_pair.hpp"

namespace netlab::net {
namespace {

using testing::openssl_fingerprint;
using testing::TempDir;
using testing::TestPki;
using testing::write_file;

X509Ptr parse_pem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// The message of the runtime_error `fn` throws, or "" when it does not.
template <typename Fn>
std::string thrown(Fn fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(TlsContext, SelfSignedFingerprintIsWhatOpensslPrints) {
  const TlsContext ctx = TlsContext::server({.self_signed = true});
  TempDir dir;
  write_file(dir.path("cert.pem"), ctx.certificate_pem());
  ASSERT_EQ(ctx.sha256_fingerprint().size(), 64u);
  EXPECT_EQ(ctx.sha256_fingerprint().find_first_not_of("0123456789abcdef"), std::string::npos)
      << ctx.sha256_fingerprint();
  EXPECT_EQ(ctx.sha256_fingerprint(), openssl_fingerprint(dir.path("cert.pem")));
}

TEST(TlsContext, SelfSignedIsFreshP256WithTheNamesAndAThirtyDayLife) {
  const TlsContext a = TlsContext::server({.self_signed = true, .self_signed_host = "box.example"});
  const TlsContext b = TlsContext::server({.self_signed = true, .self_signed_host = "10.1.2.3"});
  EXPECT_NE(a.sha256_fingerprint(), b.sha256_fingerprint()) << "a fresh key each start";

  X509Ptr cert = parse_pem(a.certificate_pem());
  ASSERT_TRUE(cert);
  for (const char* dns : {"localhost", "box.example"}) {
    EXPECT_EQ(X509_check_host(cert.get(), dns, 0, 0, nullptr), 1) << dns;
  }
  for (const char* ip : {"127.0.0.1", "::1"}) {
    EXPECT_EQ(X509_check_ip_asc(cert.get(), ip, 0), 1) << ip;
  }
  EXPECT_NE(X509_check_host(cert.get(), "other.example", 0, 0, nullptr), 1);
  X509Ptr with_ip = parse_pem(b.certificate_pem());
  EXPECT_EQ(X509_check_ip_asc(with_ip.get(), "10.1.2.3", 0), 1) << "an IP --host is an IP name";

  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  char curve[64] = {};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key, curve, sizeof curve, &len), 1);
  EXPECT_STREQ(curve, "prime256v1");

  // Valid from an hour ago (a peer's clock may lag) for 30 days.
  const time_t now = time(nullptr);
  time_t before = now - 3600 + 60;  // within a minute of now-1h
  time_t early = now - 3600 - 60;
  EXPECT_LT(X509_cmp_time(X509_get0_notBefore(cert.get()), &before), 0);
  EXPECT_GT(X509_cmp_time(X509_get0_notBefore(cert.get()), &early), 0);
  time_t day29 = now + 29L * 86400;
  time_t day31 = now + 31L * 86400;
  EXPECT_GT(X509_cmp_time(X509_get0_notAfter(cert.get()), &day29), 0);
  EXPECT_LT(X509_cmp_time(X509_get0_notAfter(cert.get()), &day31), 0);
}

TEST(TlsContext, LoadsChainAndKeyFromFilesAndTheKeyDefaultsToTheCertFile) {
  TempDir dir;
  TestPki pki(dir);
  ASSERT_TRUE(pki.ok) << pki.log;
  const TlsContext separate =
      TlsContext::server({.cert_file = pki.server_cert, .key_file = pki.server_key});
  EXPECT_EQ(separate.sha256_fingerprint(), openssl_fingerprint(pki.server_cert));

  const std::string combined = dir.path("combined.pem");
  write_file(combined, testing::run_shell("cat " + pki.server_cert + " " + pki.server_key));
  const TlsContext one_file = TlsContext::server({.cert_file = combined});
  EXPECT_EQ(one_file.sha256_fingerprint(), separate.sha256_fingerprint());
}

TEST(TlsContext, LoadErrorsAreOneLineNamingTheFile) {
  TempDir dir;
  TestPki pki(dir);
  ASSERT_TRUE(pki.ok) << pki.log;
  const std::string garbage = dir.path("garbage.pem");
  write_file(garbage, "not a certificate\n");

  EXPECT_EQ(thrown([] { TlsContext::server({.cert_file = "/nonexistent/server.pem"}); }),
            "cannot load certificate /nonexistent/server.pem: No such file or directory");
  EXPECT_EQ(thrown([&] { TlsContext::server({.cert_file = garbage}); }),
            "cannot load certificate " + garbage + ": no start line");
  // The CA's key does not belong to the server's certificate.
  EXPECT_EQ(
      thrown([&] { TlsContext::server({.cert_file = pki.server_cert, .key_file = pki.ca_key}); }),
      "cannot load key " + pki.ca_key + ": key values mismatch");
  EXPECT_EQ(thrown([&] { TlsContext::client({.ca_file = garbage}); }),
            "cannot load CA file " + garbage + ": no certificate or crl found");
  EXPECT_EQ(thrown([] { TlsContext::client({.pin = "12:zz"}); }),
            "invalid pin 12:zz: not a hex SHA-256 digest");
  EXPECT_EQ(thrown([] { TlsContext::client({.pin = "abcd"}); }),
            "invalid pin abcd: a SHA-256 digest has 64 hex digits");
  EXPECT_EQ(thrown([] { TlsContext::server({.self_signed = true, .verify_client = true}); }),
            "client certificate verification needs a CA file");
}

TEST(TlsContext, HardeningOptionsAndVersions) {
  const TlsContext server = TlsContext::server({.self_signed = true});
  const TlsContext client = TlsContext::client({});
  for (SSL_CTX* ctx : {server.native(), client.native()}) {
    const uint64_t options = SSL_CTX_get_options(ctx);
    EXPECT_TRUE(options & SSL_OP_NO_COMPRESSION);
    EXPECT_TRUE(options & SSL_OP_NO_RENEGOTIATION);
    EXPECT_TRUE(options & SSL_OP_IGNORE_UNEXPECTED_EOF);
    const long mode = SSL_CTX_get_mode(ctx);
    EXPECT_TRUE(mode & SSL_MODE_ENABLE_PARTIAL_WRITE);
    EXPECT_TRUE(mode & SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    EXPECT_TRUE(mode & SSL_MODE_RELEASE_BUFFERS);
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION) << "never below 1.2";
  }
  const TlsContext strict =
      TlsContext::server({.self_signed = true, .min_version = TlsVersion::k1_3});
  EXPECT_EQ(SSL_CTX_get_min_proto_version(strict.native()), TLS1_3_VERSION);
  EXPECT_LE(SSL_CTX_sess_get_cache_size(server.native()), 1024) << "bounded session cache";

  EXPECT_EQ(SSL_CTX_get_verify_mode(client.native()), SSL_VERIFY_PEER) << "verify by default";
  EXPECT_EQ(SSL_CTX_get_verify_mode(TlsContext::client({.insecure = true}).native()),
            SSL_VERIFY_NONE);
  EXPECT_EQ(SSL_CTX_get_verify_mode(server.native()), SSL_VERIFY_NONE)
      << "no client certificate asked for unless configured";
}

TEST(TlsContext, ParsesTheTwoVersions) {
  EXPECT_EQ(parse_tls_version("1.2"), TlsVersion::k1_2);
  EXPECT_EQ(parse_tls_version("1.3"), TlsVersion::k1_3);
  EXPECT_EQ(parse_tls_version("1.1"), std::nullopt);
  EXPECT_EQ(parse_tls_version("1.0"), std::nullopt);
  EXPECT_EQ(parse_tls_version(""), std::nullopt);
}

}  // namespace
}  // namespace netlab::net
