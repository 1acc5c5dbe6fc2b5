#include "src/runtime/runtime.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <random>
#include <sstream>

#include "auth/grants_file.h"
#include "protocol/mysql_server_errors.h"
#include "protocol/untrusted_text.h"
#include "src/backends/backend_accounts.h"

namespace hostgate {
bool RuleCounters::acquire(const std::string& rule_key, unsigned limit, unsigned& current) {
    std::lock_guard lock(mutex_);
    unsigned& n = counts_[rule_key];
    current = n;
    if (limit != 0 && n >= limit) return false;
    ++n;
    return true;
}

std::optional<auth::AccountDenial> RuleCounters::take(const auth::Rule& rule,
                                                      std::string_view user) {
    unsigned current = 0;
    if (acquire(rule.key(), rule.options.max_user_connections, current)) return std::nullopt;
    return auth::AccountDenial{
        auth::AccountDenial::Kind::max_user_connections,
        rule.key() + " has " + std::to_string(current) + " sessions, its MAX_USER_CONNECTIONS",
        protocol::mysql::server_error(protocol::mysql::ServerError::user_limit_reached,
                                      auth::max_user_connections_message(user, current)),
        rule};
}

void RuleCounters::release(const std::string& rule_key) {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(rule_key);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
}

std::string Runtime::unique_id(std::uint32_t session) const {
    static const std::uint64_t prefix = [] {
        std::random_device random;
        return std::uint64_t{random()} << 32 | random();
    }();
    return fmt::format("{:016x}-{}", prefix, session);
}

std::optional<std::string> Runtime::not_ready() {
    if (draining.load()) return "draining";
    for (Backend* b : backends.group("default"))
        if (!b->down_reason()) return std::nullopt;
    return "no backend of the default group is up";
}

namespace {

// [tls] ca: the CertificateRequest names these CAs; a certificate presented is verified against
// them (and the CRL) and the handshake fails if it does not verify, as with MySQL; a client
// without one is served (REQUIRE X509 is the grants' business). Throws on unusable files.
void ask_for_client_certificates(asio::ssl::context& tls, const Config& config) {
    tls.load_verify_file(config.tls_ca.string());
    tls.set_verify_mode(asio::ssl::verify_peer);
    SSL_CTX* ctx = tls.native_handle();
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.tls_ca.c_str());
    if (!names) throw std::runtime_error(config.tls_ca.string() + ": no CA certificate");
    SSL_CTX_set_client_CA_list(ctx, names);
    // Sessions resumed with a client certificate need a context id.
    static constexpr unsigned char kContext[] = "hostgate";
    SSL_CTX_set_session_id_context(ctx, kContext, sizeof kContext - 1);
    if (config.tls_crl.empty()) return;
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (!lookup || X509_load_crl_file(lookup, config.tls_crl.c_str(), X509_FILETYPE_PEM) <= 0)
        throw std::runtime_error(config.tls_crl.string() + ": no certificate revocation list");
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
}

}  // namespace

Runtime::Runtime(Config c, std::shared_ptr<const auth::GrantTable> g)
    : backends(c.backends),
      events(c.admin_events_kept),
      config_(std::make_shared<const Config>(std::move(c))),
      grants_(std::move(g)) {
    if (config_->tls_enabled()) {
        client_tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        client_tls->set_options(asio::ssl::context::default_workarounds |
                                asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                                asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
        client_tls->use_certificate_chain_file(config_->tls_cert.string());
        client_tls->use_private_key_file(config_->tls_key.string(), asio::ssl::context::pem);
        if (!config_->tls_ca.empty()) ask_for_client_certificates(*client_tls, *config_);
    }
    // Backends are reached on addresses from our own configuration; like the mysql client's
    // default (--ssl without --ssl-verify-server-cert), the certificate is not verified.
    backend_tls.set_verify_mode(asio::ssl::verify_none);
}

void Runtime::record(AuditEvent event) {
    const auto now = std::chrono::system_clock::now();
    if (audit) audit->record(event, now);
    events.record(std::move(event), now);
}

Expected<std::string, std::string> Runtime::reload() {
    std::lock_guard lock(reload_mutex_);
    const auto current = config();
    auto fresh = load_config(current->source);
    if (!fresh) return Unexpected(fresh.error());
    auto grants = load_grants(*fresh);
    if (!grants) return Unexpected(grants.error());

    std::string summary = std::to_string((*grants)->rules().size()) + " grant rules";
    const std::string restart = restart_only_changes(*current, *fresh);
    keep_restart_only(*fresh, *current);
    const bool revoke = fresh->revoke_existing;
    std::atomic_store(&config_,
                      std::shared_ptr<const Config>(std::make_shared<Config>(std::move(*fresh))));
    std::atomic_store(&grants_, std::move(*grants));
    if (!restart.empty())
        summary += "; changes to " + restart + " need a restart and were not applied";

    if (revoke) {
        const auto now = this->grants();
        unsigned revoked = 0;
        for (const auto& [id, entry] : sessions.snapshot()) {
            const auth::Decision d = now->decide(entry.user, entry.client);
            if (d.allowed() && !auth::unmet(d.rule->options.require, entry.tls)) continue;
            spdlog::info("session {} {} user {}: closed: revoked by the new grants", id,
                         entry.client.address.to_string(), protocol::text::log_literal(entry.user));
            sessions.terminate(id);
            ++revoked;
        }
        summary += "; " + std::to_string(revoked) + " sessions revoked";
    }
    return summary;
}

Expected<std::shared_ptr<const auth::GrantTable>, std::string> load_grants(const Config& config) {
    std::ifstream file(config.grants_file, std::ios::binary);
    if (!file) return Unexpected("cannot read grants file " + config.grants_file.string());
    std::stringstream text;
    text << file.rdbuf();
    auto rules = auth::parse_grants(text.str());
    if (!rules) return Unexpected(rules.error().to_string(config.grants_file.string()));
    if (config.grants_from_backend) {
        std::vector<std::string> skipped;
        auto accounts = read_backend_accounts(config, skipped);
        if (!accounts) return Unexpected(accounts.error());
        for (const auto& s : skipped) spdlog::warn("grants from backend: left out {}", s);
        rules = merge_rules(std::move(*rules), std::move(*accounts));
    }
    return std::shared_ptr<const auth::GrantTable>(
        std::make_shared<auth::GrantTable>(std::move(*rules)));
}

}  // namespace hostgate
