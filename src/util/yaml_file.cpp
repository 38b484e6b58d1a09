#include "util/yaml_file.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace compeval {
namespace {

std::string at_line(const std::string & path, const YAML::Node & node) {
    return path + ":" + std::to_string(node.Mark().line + 1) + ": ";
}

void refuse_repeated_keys(const YAML::Node & node, const std::string & path) {
    if (node.IsMap()) {
        std::set<std::string> keys;
        for (const auto & kv : node) {
            if (kv.first.IsScalar() && !keys.insert(kv.first.Scalar()).second) {
                throw Error(at_line(path, kv.first) + "key '" + kv.first.Scalar() + "' given twice");
            }
            refuse_repeated_keys(kv.second, path);
        }
    } else if (node.IsSequence()) {
        for (const auto & item : node) {
            refuse_repeated_keys(item, path);
        }
    }
}

size_t edit_distance(const std::string & a, const std::string & b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string yaml_error_message(const std::string & path, const std::string & what, const YAML::Exception & e) {
    const std::string line = e.mark.is_null() ? "" : std::to_string(e.mark.line + 1) + ":";
    return path + ":" + line + " invalid " + what + " file: " + e.msg;
}

YAML::Node load_yaml_file(const std::string & path, const std::string & what) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
        refuse_repeated_keys(root, path);
    } catch (const YAML::BadFile &) {
        throw Error(path + ": cannot open " + what + " file");
    } catch (const YAML::ParserException & e) {
        throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
    } catch (const YAML::Exception & e) {
        throw Error(yaml_error_message(path, what, e));
    } catch (const std::out_of_range & e) {
        // yaml-cpp 0.7 itself throws std::out_of_range on some malformed
        // documents, parsing or walking them (fuzz/regressions/domain_yaml/).
        throw Error(path + ": invalid YAML (the parser failed: " + e.what() + ")");
    }
    return root;
}

std::string nearest_word(const std::string & word, const std::vector<std::string> & candidates) {
    std::string best;
    size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
    for (const auto & c : candidates) {
        const size_t d = edit_distance(word, c);
        if (d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

void check_keys(const YAML::Node & map, const std::vector<std::string> & known, const std::string & path,
                const std::string & where) {
    if (!map.IsDefined() || !map.IsMap()) {
        return;  // absent, or a wrong shape the caller reports in its own words
    }
    for (const auto & kv : map) {
        const std::string key = kv.first.Scalar();
        if (std::find(known.begin(), known.end(), key) != known.end()) {
            continue;
        }
        const std::string near = nearest_word(key, known);
        std::string list;
        for (const auto & k : known) {
            list += (list.empty() ? "" : ", ") + k;
        }
        throw Error(at_line(path, kv.first) + "unknown key '" + key + "'" + (where.empty() ? "" : " in " + where) +
                    (near.empty() ? "" : " (did you mean '" + near + "'?)") + "; known keys: " + list);
    }
}

}  // namespace compeval
