#include "util/file_status.hpp"

#include <filesystem>
#include <system_error>

namespace compeval {

std::optional<std::string> file_problem(const std::string & path) {
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    if (status.type() == std::filesystem::file_type::not_found) {
        return "not found";
    }
    if (error) {
        return "cannot be checked: " + error.message();
    }
    if (status.type() != std::filesystem::file_type::regular) {
        return "is not a regular file";
    }
    return std::nullopt;
}

bool is_file(const std::string & path) {
    return !file_problem(path).has_value();
}

}  // namespace compeval
