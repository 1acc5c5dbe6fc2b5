#include "src/session/native_password.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace hostgate {
namespace {

protocol::ByteSpan span(const Sha1& h) {
    return {reinterpret_cast<const std::byte*>(h.data()), h.size()};
}

}  // namespace

Sha1 sha1(std::initializer_list<protocol::ByteSpan> parts) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
    for (auto p : parts) EVP_DigestUpdate(ctx, p.data(), p.size());
    Sha1 out{};
    EVP_DigestFinal_ex(ctx, out.data(), nullptr);
    EVP_MD_CTX_free(ctx);
    return out;
}

protocol::Bytes make_scramble() {
    constexpr std::size_t kLength = 20;
    // Random bytes are drawn a few kilobytes at a time (one RAND_bytes call costs about as much
    // as a whole session's parsing) and each byte is used once.
    thread_local std::array<unsigned char, 4000> pool;
    thread_local std::size_t used = pool.size();
    if (used + kLength > pool.size()) {
        if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1)
            throw std::runtime_error("RAND_bytes failed");
        used = 0;
    }
    protocol::Bytes out(kLength);
    for (auto& b : out) b = std::byte(static_cast<unsigned char>(0x21 + pool[used++] % 94));
    return out;
}

protocol::Bytes native_password_response(std::string_view password, protocol::ByteSpan scramble) {
    if (password.empty()) return {};
    const Sha1 stage1 = sha1({protocol::as_bytes(password)});
    const Sha1 stage2 = sha1({span(stage1)});
    const Sha1 mix = sha1({scramble, span(stage2)});
    protocol::Bytes out(20);
    for (std::size_t i = 0; i < 20; ++i)
        out[i] = std::byte(static_cast<std::uint8_t>(stage1[i] ^ mix[i]));
    return out;
}

bool native_password_matches(protocol::ByteSpan scramble, protocol::ByteSpan response,
                             const Sha1& stage2) {
    if (response.size() != 20) return false;
    const Sha1 mix = sha1({scramble, span(stage2)});
    Sha1 stage1{};
    for (std::size_t i = 0; i < 20; ++i)
        stage1[i] = std::to_integer<std::uint8_t>(response[i]) ^ mix[i];
    return sha1({span(stage1)}) == stage2;
}

}  // namespace hostgate
