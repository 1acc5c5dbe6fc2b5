#pragma once
// MySQL's REQUIRE clause and what a client's TLS shows, with MySQL's meaning (acl_check_ssl):
//   REQUIRE SSL      the client's leg is TLS
//   REQUIRE X509     ... and it presented a certificate the CA verified
//   REQUIRE ISSUER 'i' AND SUBJECT 's' AND CIPHER 'c'   (any of them, in any order)
//                    ... TLS; a verified certificate for ISSUER or SUBJECT, whose issuer or
//                    subject is exactly 'i' or 's' in OpenSSL's one-line form
//                    ("/C=NL/O=Example/CN=app"); the cipher suite's OpenSSL name exactly 'c'.

#include <cstdint>
#include <optional>
#include <string>

namespace hostgate::auth {

struct TlsRequirement {
    enum class Kind : std::uint8_t { none, ssl, x509, specified };
    Kind kind = Kind::none;
    std::string issuer, subject, cipher;  // specified: each one that is not empty must match

    // "REQUIRE SSL", "REQUIRE X509", "REQUIRE ISSUER '/CN=ca' AND SUBJECT '/CN=app'"; empty for
    // none.
    std::string text() const;
    bool operator==(const TlsRequirement&) const = default;
};

// What the client's TLS shows: from the TLS session hostgate terminated.
struct TlsFacts {
    bool tls = false;
    bool verified_certificate = false;  // a certificate presented and verified against [tls] ca
    std::string subject, issuer;        // of that certificate, one-line form; empty without one
    std::string cipher;                 // OpenSSL's name of the cipher suite

    bool operator==(const TlsFacts&) const = default;
};

// Why `facts` do not meet `required`, for the log and the audit ("requires X509; the client
// presented no certificate"); nullopt when they do.
std::optional<std::string> unmet(const TlsRequirement& required, const TlsFacts& facts);

}  // namespace hostgate::auth
