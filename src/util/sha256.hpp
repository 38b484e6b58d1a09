#pragma once
#include <string>

namespace compeval {

// Lower-case hex SHA-256 of a file's bytes; throws compeval::Error if unreadable.
std::string sha256_file(const std::string & path);

// Lower-case hex SHA-256 of a string.
std::string sha256_string(const std::string & data);

}  // namespace compeval
