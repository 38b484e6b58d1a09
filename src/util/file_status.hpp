#pragma once
// Whether a path an input file names is a file, without throwing: the
// throwing std::filesystem overloads turn a name the system refuses (too
// long, a component that is a file) into a filesystem_error that no loader
// reports as the bad input it is (fuzz/regressions/zoo_yaml/).
#include <optional>
#include <string>

namespace compeval {

// nullopt when `path` is a regular file; otherwise why not, as a phrase that
// follows the path: "not found", "is not a regular file", or the system's
// reason ("cannot be checked: File name too long").
std::optional<std::string> file_problem(const std::string & path);

// file_problem(path) is nullopt.
bool is_file(const std::string & path);

}  // namespace compeval
