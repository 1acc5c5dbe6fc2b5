#include "src/session/client_tls.h"

#include <openssl/objects.h>
#include <openssl/x509.h>

#include <array>
#include <memory>

namespace hostgate {
namespace proxy = protocol::proxy;

namespace {

std::string one_line(const X509_NAME* name) {
    char* text = X509_NAME_oneline(name, nullptr, 0);
    std::string out = text ? text : "";
    OPENSSL_free(text);
    return out;
}

std::string as_text(const protocol::Bytes& value) {
    return std::string(protocol::as_chars(protocol::ByteSpan(value)));
}

proxy::Tlv text_tlv(std::uint8_t type, std::string_view text) {
    const auto bytes = protocol::as_bytes(text);
    return {type, protocol::Bytes(bytes.begin(), bytes.end())};
}

}  // namespace

void take_certificate(ClientTls& tls, const X509* certificate) {
    const X509_NAME* subject = X509_get_subject_name(certificate);
    tls.facts.subject = one_line(subject);
    tls.facts.issuer = one_line(X509_get_issuer_name(certificate));
    std::array<char, 256> cn{};
    if (X509_NAME_get_text_by_NID(subject, NID_commonName, cn.data(), static_cast<int>(cn.size())) >
        0)
        tls.common_name = cn.data();
    unsigned char* der = nullptr;
    const int length = i2d_X509(certificate, &der);
    if (length > 0) {
        const auto* bytes = reinterpret_cast<const std::byte*>(der);
        tls.certificate.assign(bytes, bytes + length);
    }
    OPENSSL_free(der);
}

ClientTls from_ssl_tlv(const proxy::SslTlv& ssl) {
    ClientTls tls;
    tls.facts.tls = (ssl.client & proxy::ssl_client::kSsl) != 0;
    const bool certificate =
        (ssl.client & (proxy::ssl_client::kCertConn | proxy::ssl_client::kCertSess)) != 0;
    tls.facts.verified_certificate = tls.facts.tls && certificate && ssl.verify == 0;
    for (const proxy::Tlv& t : ssl.sub_tlvs) {
        if (t.type == proxy::tlv_type::kSslVersion) tls.version = as_text(t.value);
        if (t.type == proxy::tlv_type::kSslCipher) tls.facts.cipher = as_text(t.value);
        if (t.type == proxy::tlv_type::kSslCn) tls.common_name = as_text(t.value);
        if (t.type == proxy::kSslClientCertSubtype) tls.certificate = t.value;
    }
    if (!tls.certificate.empty()) {
        const auto* der = reinterpret_cast<const unsigned char*>(tls.certificate.data());
        std::unique_ptr<X509, decltype(&X509_free)> x509(
            d2i_X509(nullptr, &der, static_cast<long>(tls.certificate.size())), X509_free);
        if (x509) take_certificate(tls, x509.get());
    }
    if (!certificate) {  // names without a certificate bit vouch for nothing
        tls.facts.subject.clear();
        tls.facts.issuer.clear();
    } else if (tls.facts.subject.empty() && !tls.common_name.empty()) {
        tls.facts.subject = "/CN=" + tls.common_name;
    }
    return tls;
}

std::string describe(const ClientTls& tls) {
    if (!tls.facts.tls) return "no TLS";
    std::string out = tls.version.empty() ? "TLS" : tls.version;
    if (!tls.facts.cipher.empty()) out += " " + tls.facts.cipher;
    if (!tls.facts.subject.empty())
        out += std::string(tls.facts.verified_certificate ? ", certificate verified"
                                                          : ", certificate not verified") +
               ", subject " + tls.facts.subject;
    return out;
}

proxy::SslTlv ssl_tlv_for(const ClientTls& tls, bool with_cn, bool with_certificate) {
    proxy::SslTlv ssl;
    if (!tls.facts.tls) return ssl;
    const bool certificate = !tls.facts.subject.empty();
    ssl.client = proxy::ssl_client::kSsl |
                 (certificate ? proxy::ssl_client::kCertConn | proxy::ssl_client::kCertSess : 0);
    ssl.verify = tls.facts.verified_certificate ? 0 : 1;
    if (!tls.version.empty())
        ssl.sub_tlvs.push_back(text_tlv(proxy::tlv_type::kSslVersion, tls.version));
    if (!tls.facts.cipher.empty())
        ssl.sub_tlvs.push_back(text_tlv(proxy::tlv_type::kSslCipher, tls.facts.cipher));
    if (with_cn && !tls.common_name.empty())
        ssl.sub_tlvs.push_back(text_tlv(proxy::tlv_type::kSslCn, tls.common_name));
    if (with_certificate && !tls.certificate.empty())
        ssl.sub_tlvs.push_back({proxy::kSslClientCertSubtype, tls.certificate});
    return ssl;
}

}  // namespace hostgate
