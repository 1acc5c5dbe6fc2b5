#include "src/runtime.h"

#include <fstream>
#include <sstream>

#include "auth/grants_file.h"

namespace hostgate {

Runtime::Runtime(Config c) : config(std::move(c)), backends(config.backends) {
    if (config.tls_enabled()) {
        client_tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        client_tls->set_options(asio::ssl::context::default_workarounds |
                                asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                                asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
        client_tls->use_certificate_chain_file(config.tls_cert.string());
        client_tls->use_private_key_file(config.tls_key.string(), asio::ssl::context::pem);
    }
    // Backends are reached on addresses from our own configuration; like the mysql client's
    // default (--ssl without --ssl-verify-server-cert), the certificate is not verified.
    backend_tls.set_verify_mode(asio::ssl::verify_none);
}

Expected<std::shared_ptr<const auth::GrantTable>, std::string> load_grants(const Config& config) {
    std::ifstream file(config.grants_file, std::ios::binary);
    if (!file) return Unexpected("cannot read grants file " + config.grants_file.string());
    std::stringstream text;
    text << file.rdbuf();
    auto rules = auth::parse_grants(text.str());
    if (!rules) return Unexpected(rules.error().to_string(config.grants_file.string()));
    return std::shared_ptr<const auth::GrantTable>(
        std::make_shared<auth::GrantTable>(std::move(*rules)));
}

}  // namespace hostgate
