#pragma once
// What every session shares: the configuration, the grants in force, the backends, TLS contexts.

#include <atomic>
#include <memory>

#include "auth/grant_table.h"
#include "src/backends.h"
#include "src/config.h"
#include "src/net.h"
#include "src/registry.h"

namespace hostgate {

struct Runtime {
    explicit Runtime(Config c);

    Config config;
    Backends backends;
    std::unique_ptr<asio::ssl::context> client_tls;  // our certificate, when [tls] is set
    asio::ssl::context backend_tls{asio::ssl::context::tls_client};

    std::shared_ptr<const auth::GrantTable> grants() const { return std::atomic_load(&grants_); }
    void set_grants(std::shared_ptr<const auth::GrantTable> g) {
        std::atomic_store(&grants_, std::move(g));
    }

    std::uint32_t next_session_id() {
        return next_session_id_.fetch_add(1, std::memory_order_relaxed);
    }
    std::atomic<unsigned> active_sessions{0};
    SessionRegistry sessions;  // authenticated sessions, for KILL

  private:
    std::shared_ptr<const auth::GrantTable> grants_;
    std::atomic<std::uint32_t> next_session_id_{1};
};

// Reads the grants file named in the config; the error is ready to print.
Expected<std::shared_ptr<const auth::GrantTable>, std::string> load_grants(const Config& config);

}  // namespace hostgate
