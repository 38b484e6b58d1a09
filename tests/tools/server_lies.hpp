#pragma once
// What compeval_fault_proxy --lie does to a server's answer: well-formed
// HTTP, well-formed (or nearly) JSON, wrong content. Each answer shape gets
// one of four lies, picked by `draw`:
//   /completion (forced tokens): a positive log-probability, a non-finite one
//     (1e999, which no double holds), no completion_probabilities entry (a
//     wrong length), another token's id;
//   chat/completions: a negative completion_tokens count, a positive top
//     log-probability, a non-finite one, no choices (a wrong length).
// Other answers pass unchanged (and the function says so).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace compeval::test {

// The lied body, or nullopt when `body` is not a shape it lies about.
inline std::optional<std::string> lie_about(const std::string & body, uint64_t draw) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object()) {
        return std::nullopt;
    }
    // A placeholder number replaced by text no JSON number parser can hold.
    constexpr double kMarker = 424242.125;
    const auto with_non_finite = [&](const nlohmann::json & doc) {
        std::string text = doc.dump();
        const std::string marker = nlohmann::json(kMarker).dump();
        text.replace(text.find(marker), marker.size(), "1e999");
        return text;
    };
    if (j.contains("completion_probabilities") && j["completion_probabilities"].is_array() &&
        !j["completion_probabilities"].empty()) {
        auto & first = j["completion_probabilities"][0];
        switch (draw % 4) {
            case 0:
                first["logprob"] = 0.5;
                return j.dump();
            case 1:
                first["logprob"] = kMarker;
                return with_non_finite(j);
            case 2:
                j["completion_probabilities"] = nlohmann::json::array();
                return j.dump();
            default:
                first["id"] = first.value("id", 0) + 1;
                return j.dump();
        }
    }
    if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
        auto & choice = j["choices"][0];
        const bool has_top = choice.contains("logprobs") && choice["logprobs"].is_object() &&
                             choice["logprobs"].contains("content") && !choice["logprobs"]["content"].empty() &&
                             !choice["logprobs"]["content"][0].value("top_logprobs", nlohmann::json::array()).empty();
        switch (draw % 4) {
            case 1:
                if (has_top) {
                    choice["logprobs"]["content"][0]["top_logprobs"][0]["logprob"] = 3.0;
                    return j.dump();
                }
                break;
            case 2:
                if (has_top) {
                    choice["logprobs"]["content"][0]["top_logprobs"][0]["logprob"] = kMarker;
                    return with_non_finite(j);
                }
                break;
            case 3:
                j["choices"] = nlohmann::json::array();
                return j.dump();
            default:
                break;
        }
        j["usage"]["completion_tokens"] = -1;
        return j.dump();
    }
    return std::nullopt;
}

}  // namespace compeval::test
