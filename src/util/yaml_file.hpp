#pragma once
// Every YAML input file (tasks, suites, domains, zoos) is opened the same way,
// so a missing file or a syntax error reads the same whichever it is.
#include <yaml-cpp/yaml.h>

#include <string>

namespace compeval {

// Throws compeval::Error "PATH: cannot open WHAT file" or
// "PATH:LINE: invalid YAML: ..." (`what`: "task", "suite", ...).
YAML::Node load_yaml_file(const std::string & path, const std::string & what);

}  // namespace compeval
