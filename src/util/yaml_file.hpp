#pragma once
// Every YAML input file (tasks, suites, domains, zoos) is opened and checked
// the same way, so a missing file, a syntax error, a key given twice or a
// misspelled key reads the same whichever file it is in.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace compeval {

// Throws compeval::Error "PATH: cannot open WHAT file",
// "PATH:LINE: invalid YAML: ..." or "PATH:LINE: key 'K' given twice" (`what`:
// "task", "suite", ...). yaml-cpp keeps both entries of a repeated key and
// answers lookups with the first, so a second `keep:` would be ignored.
YAML::Node load_yaml_file(const std::string & path, const std::string & what);

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
