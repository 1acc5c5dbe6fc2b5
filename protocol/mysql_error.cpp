#include "protocol/mysql_error.h"

#include <string>

namespace hostgate::protocol::mysql {
namespace {

class Category : public std::error_category {
  public:
    const char* name() const noexcept override { return "mysql_protocol"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::truncated:
                return "packet is shorter than its fields";
            case errc::trailing_bytes:
                return "packet has bytes after its last field";
            case errc::missing_nul:
                return "string is missing its NUL terminator";
            case errc::bad_lenenc:
                return "malformed length-encoded integer";
            case errc::unexpected_header:
                return "unexpected packet type";
            case errc::bad_protocol_version:
                return "server greeting is not protocol version 10";
            case errc::unsupported_protocol:
                return "client does not speak protocol 4.1";
            case errc::packet_too_large:
                return "packet larger than allowed";
            case errc::bad_sequence:
                return "packet sequence ids out of order";
            case errc::bad_attributes:
                return "malformed connection attributes";
            case errc::bad_scramble:
                return "server greeting has a malformed scramble";
        }
        return "unknown MySQL protocol error";
    }
};

}  // namespace

const std::error_category& error_category() {
    static const Category category;
    return category;
}

std::error_code to_error(ReadFault fault) {
    switch (fault) {
        case ReadFault::none:
            return {};
        case ReadFault::truncated:
            return make_error_code(errc::truncated);
        case ReadFault::missing_nul:
            return make_error_code(errc::missing_nul);
        case ReadFault::bad_lenenc:
            return make_error_code(errc::bad_lenenc);
    }
    return make_error_code(errc::truncated);
}

}  // namespace hostgate::protocol::mysql
