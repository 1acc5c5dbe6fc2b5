#include "auth/tls_requirement.h"

#include "auth/grant_table.h"
#include "protocol/untrusted_text.h"

namespace hostgate::auth {

std::string TlsRequirement::text() const {
    switch (kind) {
        case Kind::none:
            return "";
        case Kind::ssl:
            return "REQUIRE SSL";
        case Kind::x509:
            return "REQUIRE X509";
        case Kind::specified:
            break;
    }
    std::string out;
    auto add = [&](const char* what, const std::string& value) {
        if (value.empty()) return;
        out += (out.empty() ? "REQUIRE " : " AND ") + std::string(what) + " " +
               quote_account_part(value);
    };
    add("ISSUER", issuer);
    add("SUBJECT", subject);
    add("CIPHER", cipher);
    return out;
}

std::optional<std::string> unmet(const TlsRequirement& required, const TlsFacts& facts) {
    using Kind = TlsRequirement::Kind;
    if (required.kind == Kind::none) return std::nullopt;
    const std::string requires_ =
        "requires " + required.text().substr(std::string_view("REQUIRE ").size());
    if (!facts.tls) return requires_ + "; the client is not on TLS";
    const bool needs_certificate =
        required.kind == Kind::x509 || (required.kind == Kind::specified &&
                                        (!required.issuer.empty() || !required.subject.empty()));
    if (needs_certificate && !facts.verified_certificate)
        return requires_ + "; the client presented no verified certificate";
    if (required.kind != Kind::specified) return std::nullopt;
    if (!required.cipher.empty() && required.cipher != facts.cipher)
        return requires_ + "; the cipher is " + facts.cipher;
    // The certificate's names are the client's bytes: as log literals, like every name it chose.
    if (!required.issuer.empty() && required.issuer != facts.issuer)
        return requires_ + "; the certificate's issuer is " +
               protocol::text::log_literal(facts.issuer);
    if (!required.subject.empty() && required.subject != facts.subject)
        return requires_ + "; the certificate's subject is " +
               protocol::text::log_literal(facts.subject);
    return std::nullopt;
}

}  // namespace hostgate::auth
