#include "src/native_password.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

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
    protocol::Bytes out(kLength);
    RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), kLength);
    for (auto& b : out)
        b = std::byte(static_cast<unsigned char>(0x21 + std::to_integer<unsigned>(b) % 94));
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
