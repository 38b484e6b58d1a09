#pragma once
// Shared fixtures: generated model files (made once per build tree), an
// independent one-request-at-a-time reference scorer, and a command runner.
#include "backends/model.hpp"
#include "scoring/requests.hpp"

#include <functional>
#include <string>
#include <vector>

namespace compeval::test {

// A minimal chat template for generated instruct models.
inline constexpr const char * kChatTemplate =
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>"
    "{% endif %}";

// "tiny-f16", "tiny-f32", "small-f16", "small-f32", or "chat-<preset>" with a
// template: generated on first use into the build tree.
std::string model_path(const std::string & name, const std::string & chat_template = "");

// A fresh empty directory for one test.
std::string temp_dir(const std::string & name);

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};
CommandResult run_command(const std::string & command);
std::string compeval_binary();

// Scores each request alone: its whole token sequence in one sequence of a
// fresh context, logits at every position, log-softmax in double precision.
// ubatch > 0 feeds the sequence to llama.cpp that many tokens at a time
// (0: all at once).
std::vector<LoglikelihoodResult> reference_loglikelihood(const Model & model,
                                                         const std::vector<TokenizedRequest> & requests,
                                                         int ubatch = 0);

// Logits (n_vocab floats) predicting the token after tokens[0..pos].
std::vector<float> reference_logits(const Model & model, const std::vector<Token> & tokens, size_t pos);

std::string read_file(const std::string & path);

// Writes a few AddOne-RTE rows in its release layout (7 tab-separated columns,
// no header, the phrase marked <b><u>...</u></b>) under `dir` as
// addone-entailment/splits/data.test, since that data is not shipped; returns
// the file's path. Scores 4.6, 1.4, 3.5 (premise s1) and 3.0 (premise s2).
std::string write_addone_fixture(const std::string & dir);

// The message of the compeval::Error that f throws, or "<no error>".
std::string error_of(const std::function<void()> & f);

}  // namespace compeval::test
