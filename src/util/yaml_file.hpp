#pragma once
// Every YAML input file (tasks, suites, domains, zoos) is opened and checked
// the same way, so a missing file, a syntax error, a key given twice or a
// misspelled key reads the same whichever file it is in.
#include "util/error.hpp"

#include <yaml-cpp/yaml.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace compeval {

// Throws compeval::Error "PATH: cannot open WHAT file",
// "PATH:LINE: invalid YAML: ..." or "PATH:LINE: key 'K' given twice" (`what`:
// "task", "suite", ...). yaml-cpp keeps both entries of a repeated key and
// answers lookups with the first, so a second `keep:` would be ignored.
YAML::Node load_yaml_file(const std::string & path, const std::string & what);

// "PATH:LINE: invalid WHAT file: MESSAGE" for a yaml-cpp error.
std::string yaml_error_message(const std::string & path, const std::string & what, const YAML::Exception & e);

// Runs `load`, which reads a YAML file's nodes: a yaml-cpp error escaping it
// (a scalar where a mapping was expected, a value of the wrong type) becomes
// compeval::Error naming the file and line, like every other bad input.
template <class Load>
auto with_yaml_errors(const std::string & path, const std::string & what, Load && load) -> decltype(load()) {
    try {
        return load();
    } catch (const YAML::Exception & e) {
        throw Error(yaml_error_message(path, what, e));
    } catch (const std::out_of_range & e) {
        // yaml-cpp 0.7 throws this walking some malformed documents (aliases
        // of odd nodes; fuzz/regressions/domain_yaml/).
        throw Error(path + ": invalid " + what + " file (the YAML parser failed: " + e.what() + ")");
    }
}

// Refuses any key of the mapping `map` that is not in `known`: a misspelled
// key would otherwise run on the defaults. The message names the file, the
// key's line, `where` ("data", "models[]", "" for the top level), the nearest
// known key where one is close, and every known key.
void check_keys(const YAML::Node & map, const std::vector<std::string> & known, const std::string & path,
                const std::string & where);

// The candidate nearest to `word` by edit distance, or "" when none is within
// a third of the word's length (at least 2 edits).
std::string nearest_word(const std::string & word, const std::vector<std::string> & candidates);

}  // namespace compeval
