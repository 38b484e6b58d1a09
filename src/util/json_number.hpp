#pragma once
// Whole numbers read from JSON that someone else wrote (a server's answer, a
// run file): nlohmann's get<int>() converts 1e300 with undefined behaviour
// and -1 to size_t by wrapping. These refuse what is not a whole number of
// the type, with compeval::Error naming `what`.
#include "util/error.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

namespace compeval {

template <class T>
T json_whole(const nlohmann::json & v, const std::string & what) {
    static_assert(std::is_integral_v<T>);
    constexpr auto max = static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (v.is_number_unsigned()) {
        if (const auto u = v.get<uint64_t>(); u <= max) {
            return static_cast<T>(u);
        }
    } else if (v.is_number_integer()) {
        const auto i = v.get<int64_t>();
        if constexpr (std::is_signed_v<T>) {
            if (i >= static_cast<int64_t>(std::numeric_limits<T>::min()) && i <= static_cast<int64_t>(max)) {
                return static_cast<T>(i);
            }
        } else if (i >= 0 && static_cast<uint64_t>(i) <= max) {
            return static_cast<T>(i);
        }
    }
    throw Error(what + ": expected a whole number in range, got " + v.dump().substr(0, 40));
}

// obj[key] as above; `fallback` when obj has no such key or it is null.
template <class T>
T json_whole_or(const nlohmann::json & obj, const char * key, T fallback, const std::string & what) {
    if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) {
        return fallback;
    }
    return json_whole<T>(obj.at(key), what.empty() ? std::string(key) : what + "." + key);
}

}  // namespace compeval
