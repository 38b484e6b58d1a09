// Fuzz targets for what servers answer: RemoteModel's identification and
// capability probes, the scoring routes' replies (forced tokens, echo) and
// the answer routes' replies, all through the real code paths with the
// network replaced by HttpOptions::transport.
#include "fuzz_targets.hpp"

#include "backends/prompt_logprobs.hpp"
#include "backends/remote_model.hpp"
#include "scoring/remote_generator.hpp"
#include "scoring/remote_scorer.hpp"

#include <array>
#include <map>

namespace compeval::fuzz {
namespace {

// Which section of the input answers which path (in this order; an empty
// section answers 404, one starting with '!' answers 500 with the rest).
constexpr std::array kPaths = {"/v1/models",           "/props",           "/tokenize",      "/completion",
                               "/v1/chat/completions", "/v1/completions",  "/v1/embeddings", "/apply-template",
                               "/get_model_info",      "/get_server_info", "/info",          "/version",
                               "/detokenize",          "/generate"};
constexpr std::string_view kSeparator = "\n@@\n";

std::map<std::string, std::string> answers_of(std::string_view input) {
    std::map<std::string, std::string> answers;
    for (const char * path : kPaths) {
        const auto end = input.find(kSeparator);
        answers[path] = std::string(input.substr(0, end));
        input = end == std::string_view::npos ? std::string_view() : input.substr(end + kSeparator.size());
    }
    return answers;
}

}  // namespace

void fuzz_remote_server(std::string_view input) {
    const auto answers = answers_of(input);
    RemoteOptions options;
    options.http.base_url = "http://fuzz.invalid";
    options.http.max_attempts = 1;
    options.concurrency = 1;
    options.http.transport = [&answers](const std::string &, const std::string & path, const std::string &) {
        HttpResponse r;
        const auto it = answers.find(path);
        if (it == answers.end() || it->second.empty()) {
            r.status = 404;
        } else if (it->second.front() == '!') {
            r.status = 500;
            r.body = it->second.substr(1);
        } else {
            r.status = 200;
            r.body = it->second;
        }
        return r;
    };
    const RemoteModel model(options);
    if (!model.capabilities().scoring.empty()) {
        RemoteScorer scorer(model);
        (void)scorer.loglikelihood_tokens({tokenize_request(model, {"a b", " c", false})});
    }
    if (model.capabilities().chat_completions) {
        RemoteGenerator generator(model);
        GenerationRequest request;
        request.prompt = "Q: a? A:";
        request.messages = {{"user", "Q: a?"}};
        request.top_logprobs = 2;
        request.stop = {"\n"};
        (void)generator.generate({request});
    }
}

// The first byte picks the server's shape; the rest is its answer to a
// probe prompt of three tokens.
void fuzz_prompt_logprobs(std::string_view input) {
    if (input.empty()) {
        return;
    }
    const std::array shapes = {EchoShape::VllmEcho, EchoShape::VllmPrompt, EchoShape::Tgi, EchoShape::Sglang};
    const auto shape = shapes[static_cast<unsigned char>(input[0]) % shapes.size()];
    const auto body = nlohmann::json::parse(input.substr(1), nullptr, false);
    if (body.is_discarded()) {
        return;  // the HTTP client refuses what is not JSON before any parser sees it
    }
    const auto parsed = parse_prompt_logprobs(shape, body);
    check_prompt_logprobs(parsed, {785, 6722, 315}, "fuzz");
}

void fuzz_chat_completion(std::string_view input) {
    const auto body = nlohmann::json::parse(input, nullptr, false);
    if (body.is_discarded()) {
        return;
    }
    (void)parse_generation_response(body, {"\n", "Question:"}, 3);
}

}  // namespace compeval::fuzz
