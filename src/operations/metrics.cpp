#include "src/operations/metrics.h"

#include <spdlog/spdlog.h>

#include "src/runtime/runtime.h"
#include "src/session/admission.h"
#include "src/session/watchdog.h"
#include "src/version.h"

namespace hostgate {
namespace {

// A label value in the text exposition format. Every label value comes from hostgate itself or
// from its configuration (backend names), never from a client; this keeps an odd backend name
// from breaking the exposition.
std::string label_value(std::string_view v) {
    std::string out;
    for (const char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace

void Metrics::count_event(SessionEvent event) {
    ++events_[static_cast<std::size_t>(event)];
}

void Metrics::count_refusal(RefusalReason reason) {
    ++refusals_[static_cast<std::size_t>(reason)];
}

void Metrics::add_bytes(std::uint64_t in, std::uint64_t out) {
    bytes_in_ += in;
    bytes_out_ += out;
}

void Metrics::observe_handshake(std::chrono::steady_clock::duration d) {
    const double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
    ++handshake_buckets_[i];
    ++handshake_count_;
    handshake_micros_ += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

void Metrics::count_reload(bool ok) {
    ++(ok ? reloads_ok_ : reloads_failed_);
}

std::string Metrics::render(Runtime& rt) const {
    std::string out;
    auto line = [&](const std::string& s) { out += s + "\n"; };
    line("# HELP hostgate_connections_total Client connections by outcome.");
    line("# TYPE hostgate_connections_total counter");
    for (const SessionEventInfo& e : kSessionEvents)
        if (e.outcome)
            line("hostgate_connections_total{outcome=\"" + std::string(e.name) + "\"} " +
                 std::to_string(events_[static_cast<std::size_t>(e.event)].load()));
    line("# HELP hostgate_refusals_total Client connections refused, by reason.");
    line("# TYPE hostgate_refusals_total counter");
    for (const RefusalReasonInfo& r : kRefusalReasons)
        line("hostgate_refusals_total{reason=\"" + std::string(r.name) + "\"} " +
             std::to_string(refusals_[static_cast<std::size_t>(r.reason)].load()));
    line("# HELP hostgate_active_sessions Client connections open now.");
    line("# TYPE hostgate_active_sessions gauge");
    line("hostgate_active_sessions " + std::to_string(rt.active_sessions.load()));
    line("# HELP hostgate_bytes_total Bytes relayed after authentication, by direction.");
    line("# TYPE hostgate_bytes_total counter");
    line("hostgate_bytes_total{direction=\"client_to_backend\"} " +
         std::to_string(bytes_in_.load()));
    line("hostgate_bytes_total{direction=\"backend_to_client\"} " +
         std::to_string(bytes_out_.load()));
    line(
        "# HELP hostgate_spliced_bytes_total Bytes relayed from backends to clients with "
        "splice(2), without a copy to user space (bulk results on plaintext legs).");
    line("# TYPE hostgate_spliced_bytes_total counter");
    line("hostgate_spliced_bytes_total " + std::to_string(spliced_.load()));

    line("# HELP hostgate_handshake_seconds Time from accept to the backend's OK.");
    line("# TYPE hostgate_handshake_seconds histogram");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        cumulative += handshake_buckets_[i].load();
        line(fmt::format("hostgate_handshake_seconds_bucket{{le=\"{}\"}} {}", kBuckets[i],
                         cumulative));
    }
    cumulative += handshake_buckets_[kBuckets.size()].load();
    line("hostgate_handshake_seconds_bucket{le=\"+Inf\"} " + std::to_string(cumulative));
    line(fmt::format("hostgate_handshake_seconds_sum {:.6f}",
                     static_cast<double>(handshake_micros_.load()) / 1e6));
    line("hostgate_handshake_seconds_count " + std::to_string(handshake_count_.load()));

    line(
        "# HELP hostgate_backend_up 1 if sessions can use the backend: the health monitor "
        "finds it up and the last connection to it succeeded.");
    line("# TYPE hostgate_backend_up gauge");
    for (Backend* b : rt.backends.all())
        line("hostgate_backend_up{backend=\"" + label_value(b->config().name) + "\"} " +
             (b->down_reason() ? "0" : "1"));
    line("# HELP hostgate_backend_sessions Sessions relayed to the backend now.");
    line("# TYPE hostgate_backend_sessions gauge");
    for (Backend* b : rt.backends.all())
        line("hostgate_backend_sessions{backend=\"" + label_value(b->config().name) + "\"} " +
             std::to_string(b->sessions.load()));
    line("# HELP hostgate_backend_connect_errors_total Failed connections to the backend.");
    line("# TYPE hostgate_backend_connect_errors_total counter");
    for (Backend* b : rt.backends.all())
        line("hostgate_backend_connect_errors_total{backend=\"" + label_value(b->config().name) +
             "\"} " + std::to_string(b->connect_errors()));
    line("# HELP hostgate_build_info The running hostgate's version.");
    line("# TYPE hostgate_build_info gauge");
    line("hostgate_build_info{version=\"" HOSTGATE_VERSION "\"} 1");
    line("# HELP hostgate_audit_dropped_total Audit events dropped because the queue was full.");
    line("# TYPE hostgate_audit_dropped_total counter");
    line("hostgate_audit_dropped_total " + std::to_string(rt.audit ? rt.audit->dropped() : 0));
    line("# HELP hostgate_reloads_total Configuration reloads by result.");
    line("# TYPE hostgate_reloads_total counter");
    line("hostgate_reloads_total{result=\"ok\"} " + std::to_string(reloads_ok_.load()));
    line("hostgate_reloads_total{result=\"failed\"} " + std::to_string(reloads_failed_.load()));
    return out;
}

namespace {

constexpr std::size_t kMaxRequest = 8192;

// The whole HTTP response to a request.
std::string answer(Runtime& rt, const std::string& request) {
    std::string status = "200 OK", body;
    auto is = [&request](std::string_view path) {
        const std::string get = "GET " + std::string(path);
        return request.starts_with(get + " ") || request.starts_with(get + "?");
    };
    if (is("/metrics")) {
        body = rt.metrics.render(rt);
    } else if (is("/ready")) {
        // For a balancer's health check (HAProxy option httpchk, a Kubernetes readiness probe).
        const auto why_not = rt.not_ready();
        if (why_not) status = "503 Service Unavailable";
        body = (why_not ? *why_not : std::string("ready")) + "\n";
    } else if (is("/live")) {
        body = "live\n";
    } else {
        status = "404 Not Found";
        body = "try /metrics, /ready or /live\n";
    }
    return "HTTP/1.1 " + status +
           "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

awaitable<void> serve_one(Runtime& rt, tcp::socket socket) {
    Slot slot(rt.metrics_connections, rt.config()->metrics_max_connections);
    if (!slot.held()) {
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        co_await asio::async_write(socket, asio::buffer(kBusy), use_nothrow);
        co_return;
    }
    auto executor = co_await asio::this_coro::executor;
    Watchdog deadline(executor, std::chrono::seconds(5), [&socket] {
        std::error_code ignored;
        socket.close(ignored);
    });
    std::string request;
    std::array<char, 1024> chunk;
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequest) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), use_nothrow);
        if (ec) co_return;
        request.append(chunk.data(), n);
    }
    const std::string response = answer(rt, request);
    co_await asio::async_write(socket, asio::buffer(response), use_nothrow);
    std::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

awaitable<void> serve_metrics(Runtime& rt, tcp::acceptor& acceptor) {
    co_await accept_each(acceptor,
                         [&rt](tcp::socket socket) { return serve_one(rt, std::move(socket)); });
}

}  // namespace hostgate
