#include "auth/error.h"

namespace hostgate::auth {
namespace {

class Category : public std::error_category {
  public:
    const char* name() const noexcept override { return "auth"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::syntax:
                return "syntax error";
            case errc::bad_user:
                return "bad user name";
            case errc::bad_host:
                return "bad host pattern";
            case errc::unknown_option:
                return "unknown option";
            case errc::duplicate_option:
                return "option given twice";
            case errc::bad_value:
                return "bad option value";
            case errc::duplicate_account:
                return "account defined twice";
            case errc::bad_network:
                return "bad network";
        }
        return "unknown auth error";
    }
};

}  // namespace

const std::error_category& error_category() {
    static const Category category;
    return category;
}

std::string Error::to_string(const std::string& source) const {
    std::string out = source;
    if (line != 0) {
        if (!out.empty()) out += ':';
        out += std::to_string(line) + ':' + std::to_string(column);
    }
    if (!out.empty()) out += ": ";
    return out + message;
}

}  // namespace hostgate::auth
