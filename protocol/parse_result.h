#pragma once
// The result of an incremental (stream) parser: the value and how many bytes it took, a request
// for more input, or an error. Parsers never look past what they are given and never keep state
// between calls: give them the whole buffer received so far.

#include <cstddef>
#include <system_error>
#include <variant>

namespace hostgate::protocol {

template <class T>
struct Complete {
    T value;
    std::size_t consumed;  // bytes of the input that belong to this value
    bool operator==(const Complete&) const = default;
};

struct NeedMore {
    std::size_t min_total;  // the input must be at least this long before parsing can progress
    bool operator==(const NeedMore&) const = default;
};

template <class T>
using Parsed = std::variant<Complete<T>, NeedMore, std::error_code>;

template <class T>
const Complete<T>* complete(const Parsed<T>& p) {
    return std::get_if<Complete<T>>(&p);
}
template <class T>
const NeedMore* need_more(const Parsed<T>& p) {
    return std::get_if<NeedMore>(&p);
}
template <class T>
std::error_code error(const Parsed<T>& p) {
    const auto* e = std::get_if<std::error_code>(&p);
    return e ? *e : std::error_code{};
}

}  // namespace hostgate::protocol
