#include "test_support.hpp"

#include "model/random_model.hpp"
#include "util/error.hpp"

#include <llama.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <sys/wait.h>

namespace compeval::test {
namespace fs = std::filesystem;

std::string model_path(const std::string & name, const std::string & chat_template) {
    const std::string path = std::string(COMPEVAL_TEST_MODEL_DIR) + "/" + name + ".gguf";
    if (fs::exists(path)) {
        return path;
    }
    // "<preset>-f16|f32" or "chat-<preset>-<label>"
    const auto dash = name.find('-');
    const std::string kind = name.substr(0, dash);
    const std::string rest = name.substr(dash + 1);
    RandomModelSpec spec = random_model_preset(kind == "chat" ? rest.substr(0, rest.find('-')) : kind);
    spec.f16 = kind == "chat" || rest == "f16";
    spec.chat_template = chat_template;
    write_random_model(spec, path);
    return path;
}

std::string temp_dir(const std::string & name) {
    const fs::path dir = fs::path(COMPEVAL_TEST_TMP_DIR) / (name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir.string();
}

CommandResult run_command(const std::string & command) {
    const std::string err_path = temp_dir("stderr") + "/err.txt";
    CommandResult result;
    FILE * pipe = popen((command + " 2>" + err_path).c_str(), "r");
    if (pipe == nullptr) {
        return result;
    }
    std::array<char, 4096> buffer{};
    size_t n = 0;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
        result.out.append(buffer.data(), n);
    }
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.err = read_file(err_path);
    return result;
}

std::string compeval_binary() {
    return COMPEVAL_BINARY;
}

std::string error_of(const std::function<void()> & f) {
    try {
        f();
    } catch (const Error & e) {
        return e.what();
    }
    return "<no error>";
}

std::string read_file(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

namespace {

using ContextPtr = std::unique_ptr<llama_context, decltype(&llama_free)>;

ContextPtr single_sequence_context(const Model & model, size_t n_tokens) {
    llama_context_params p = llama_context_default_params();
    p.n_ctx = static_cast<uint32_t>(std::max<size_t>(n_tokens, 64));
    p.n_batch = p.n_ctx;
    p.n_ubatch = p.n_ctx;
    p.n_seq_max = 1;
    p.n_threads = 1;
    p.n_threads_batch = 1;
    p.type_k = GGML_TYPE_F32;
    p.type_v = GGML_TYPE_F32;
    p.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    return ContextPtr(llama_init_from_model(model.raw(), p), &llama_free);
}

// Decodes tokens in chunks of `step`; returns the logits of every position.
std::vector<std::vector<float>> decode_all(llama_context * ctx, const std::vector<Token> & tokens, size_t step,
                                           int n_vocab) {
    std::vector<std::vector<float>> logits;
    llama_batch batch = llama_batch_init(static_cast<int32_t>(tokens.size()), 0, 1);
    for (size_t first = 0; first < tokens.size(); first += step) {
        const size_t last = std::min(tokens.size(), first + step);
        batch.n_tokens = 0;
        for (size_t i = first; i < last; ++i) {
            const int j = batch.n_tokens++;
            batch.token[j] = tokens[i];
            batch.pos[j] = static_cast<llama_pos>(i);
            batch.n_seq_id[j] = 1;
            batch.seq_id[j][0] = 0;
            batch.logits[j] = 1;
        }
        if (llama_decode(ctx, batch) != 0) {
            llama_batch_free(batch);
            throw std::runtime_error("reference decode failed");
        }
        for (int j = 0; j < batch.n_tokens; ++j) {
            const float * row = llama_get_logits_ith(ctx, j);
            logits.emplace_back(row, row + n_vocab);
        }
    }
    llama_batch_free(batch);
    return logits;
}

}  // namespace

std::vector<LoglikelihoodResult> reference_loglikelihood(const Model & model,
                                                         const std::vector<TokenizedRequest> & requests, int ubatch) {
    const int n_vocab = model.facts().n_vocab;
    std::vector<LoglikelihoodResult> out;
    for (const auto & r : requests) {
        auto ctx = single_sequence_context(model, r.tokens.size());
        const auto all =
            decode_all(ctx.get(), r.tokens, ubatch > 0 ? static_cast<size_t>(ubatch) : r.tokens.size(), n_vocab);
        LoglikelihoodResult res;
        res.greedy = true;
        for (size_t pos = r.n_context; pos < r.tokens.size(); ++pos) {
            const float * logits = all[pos - 1].data();
            double max_v = logits[0];
            int argmax = 0;
            for (int v = 1; v < n_vocab; ++v) {
                if (logits[v] > max_v) {
                    max_v = logits[v];
                    argmax = v;
                }
            }
            double sum = 0.0;
            for (int v = 0; v < n_vocab; ++v) {
                sum += std::exp(static_cast<double>(logits[v]) - max_v);
            }
            res.logprob += static_cast<double>(logits[r.tokens[pos]]) - max_v - std::log(sum);
            res.greedy = res.greedy && argmax == r.tokens[pos];
            ++res.n_tokens;
        }
        out.push_back(res);
    }
    return out;
}

std::vector<float> reference_logits(const Model & model, const std::vector<Token> & tokens, size_t pos) {
    auto ctx = single_sequence_context(model, tokens.size());
    return decode_all(ctx.get(), tokens, tokens.size(), model.facts().n_vocab)[pos];
}

std::string write_addone_fixture(const std::string & dir) {
    std::filesystem::create_directories(dir + "/addone-entailment/splits");
    const std::string path = dir + "/addone-entailment/splits/data.test";
    std::ofstream(path) << "4.6\tentailed\ts1\tnew\trecord\tThe runner set a <b><u>record</u></b>.\t"
                           "The runner set a <b><u>new record</u></b>.\n"
                        << "1.4\tnot-entailed\ts1\told\trecord\tThe runner set a <b><u>record</u></b>.\t"
                           "The runner set an <b><u>old record</u></b>.\n"
                        << "3.5\tnot-entailed\ts1\tfine\trecord\tThe runner set a <b><u>record</u></b>.\t"
                           "The runner set a <b><u>fine record</u></b>.\n"
                        << "3.0\tnot-entailed\ts2\tfake\tgun\tHe held a <b><u>gun</u></b> .\t"
                           "He held a <b><u>fake gun</u></b> .\n";
    return path;
}

}  // namespace compeval::test
