#include "util/yaml_file.hpp"

#include "util/error.hpp"

namespace compeval {

YAML::Node load_yaml_file(const std::string & path, const std::string & what) {
    try {
        return YAML::LoadFile(path);
    } catch (const YAML::BadFile &) {
        throw Error(path + ": cannot open " + what + " file");
    } catch (const YAML::ParserException & e) {
        throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
    }
}

}  // namespace compeval
