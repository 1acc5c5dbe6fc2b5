#pragma once
// The client's TLS as hostgate knows it: from the TLS session it terminated, or from a trusted
// proxy's PP2_TYPE_SSL TLV (a HAProxy with send-proxy-v2-ssl, a hostgate in front) that did.
// What REQUIRE rules look at (auth::TlsFacts), what the log and the audit show, and the SSL TLV
// hostgate sends a backend (proxy_protocol_tlvs).

#include <string>

#include "auth/tls_requirement.h"
#include "protocol/byte_io.h"
#include "protocol/proxy_protocol.h"

struct x509_st;  // OpenSSL's X509

namespace hostgate {

struct ClientTls {
    auth::TlsFacts facts;
    std::string version;          // "TLSv1.3"
    std::string common_name;      // of the client certificate; empty without one
    std::string server_name;      // the SNI the client sent
    protocol::Bytes certificate;  // the client certificate, DER; empty if not known
};

// Fills in what the client certificate says: subject and issuer (one-line form), CN, DER.
void take_certificate(ClientTls& tls, const x509_st* certificate);

// What a PP2_TYPE_SSL TLV says: TLS if its client bit is set; a verified certificate if a
// certificate bit is and verify is 0; subject and issuer from the certificate sub-TLV (DER), or
// with only a CN sub-TLV a subject of exactly "/CN=<cn>"; the cipher and version sub-TLVs.
ClientTls from_ssl_tlv(const protocol::proxy::SslTlv& ssl);

// "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate verified, subject /CN=app"; "no TLS".
std::string describe(const ClientTls& tls);

// The PP2_TYPE_SSL value for a backend: client and certificate bits, verify, version and cipher,
// and the CN and the certificate if asked for.
protocol::proxy::SslTlv ssl_tlv_for(const ClientTls& tls, bool with_cn, bool with_certificate);

}  // namespace hostgate
