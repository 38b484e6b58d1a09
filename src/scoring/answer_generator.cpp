#include "scoring/answer_generator.hpp"

#include <algorithm>

namespace compeval {

bool cut_at_stop(std::string & text, const std::vector<std::string> & stop) {
    size_t cut = std::string::npos;
    for (const auto & s : stop) {
        if (!s.empty()) {
            cut = std::min(cut, text.find(s));
        }
    }
    if (cut == std::string::npos) {
        return false;
    }
    text.resize(cut);
    return true;
}

}  // namespace compeval
