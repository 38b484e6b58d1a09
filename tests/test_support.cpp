#include "test_support.hpp"

#include "model/quantize.hpp"
#include "model/random_model.hpp"
#include "util/error.hpp"

#include <llama.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>

namespace compeval::test {
namespace fs = std::filesystem;

std::string vocab_path(const std::string & vocab) {
    return (fs::path(default_vocab_path()).parent_path() / ("ggml-vocab-" + vocab + ".gguf")).string();
}

std::string model_path(const std::string & name, const std::string & chat_template) {
    const std::string path = model_dir() + "/" + name + ".gguf";
    if (fs::exists(path)) {
        return path;
    }
    // "<preset>-f16|f32[-<vocab>]" or "chat-<preset>-<label>"
    const auto dash = name.find('-');
    const std::string kind = name.substr(0, dash);
    const std::string rest = name.substr(dash + 1);
    RandomModelSpec spec = random_model_preset(kind == "chat" ? rest.substr(0, rest.find('-')) : kind);
    const std::string weights = rest.substr(0, rest.find('-'));
    spec.weights = kind == "chat" || weights == "f16" ? WeightType::F16 : WeightType::F32;
    if (kind != "chat" && rest.find('-') != std::string::npos) {
        spec.vocab_path = vocab_path(rest.substr(rest.find('-') + 1));
    }
    spec.chat_template = chat_template;
    write_random_model(spec, path);
    return path;
}

std::string quantized_model_path(const std::string & source, const std::string & type) {
    const std::string from = model_path(source);
    const std::string path = quantized_path_beside(from, type);
    ensure_quantized(from, path, type);
    return path;
}

std::string arch_model_path(const ArchModel & m) {
    std::string name = m.architecture + "-" + m.preset + "-" + weight_type_name(m.weights) + "-" + m.vocab;
    if (!m.label.empty()) {
        name += "-" + m.label;
    }
    const std::string path = model_dir() + "/" + name + ".gguf";
    if (fs::exists(path)) {
        return path;
    }
    // general.name stays the preset's: llama.cpp keys some tokenizer
    // attributes on it (a name with "phi3" expects Phi-3's special tokens).
    RandomModelSpec spec = random_model_preset(m.preset);
    spec.architecture = m.architecture;
    spec.weights = m.weights;
    spec.vocab_path = vocab_path(m.vocab);
    spec.n_head_kv = m.n_head_kv > 0 ? m.n_head_kv : spec.n_head_kv;
    spec.head_dim = m.head_dim;
    spec.sliding_window = m.sliding_window > 0 ? m.sliding_window : spec.sliding_window;
    spec.chat_template = m.chat_template;
    write_random_model(spec, path);
    return path;
}

std::string shared_data_dir() {
    return source_dir() + "/../shared/data";
}

std::string temp_dir(const std::string & name) {
    const fs::path dir = fs::path(tmp_dir()) / (name + "-" + std::to_string(::getpid()));
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
    while (true) {
        const size_t n = fread(buffer.data(), 1, buffer.size(), pipe);
        result.out.append(buffer.data(), n);
        if (n == buffer.size()) {
            continue;
        }
        if (ferror(pipe) != 0 && errno == EINTR) {  // a signal, not the end: read on
            clearerr(pipe);
            continue;
        }
        break;
    }
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.err = read_file(err_path);
    return result;
}

std::string error_of(const std::function<void()> & f) {
    try {
        f();
    } catch (const Error & e) {
        return e.what();
    }
    return "<no error>";
}

std::string write(const std::string & dir, const std::string & name, const std::string & text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

std::string read_file(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

namespace {

using ContextPtr = std::unique_ptr<llama_context, decltype(&llama_free)>;

// One sequence, F32 KV cache, no flash attention, one thread. Emptied between
// requests (token by token, down to the context they share) rather than made
// anew: a sequence's numbers depend on the cells it occupies, not on how many
// the context has, and a fresh context per request is what made these
// references slow under AddressSanitizer.
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

// Decodes tokens in chunks of `step` and calls `row(position, logits)` for
// every position from `first_row` on. The first `kept` tokens stay from the
// decode before when the context can drop the rest (a recurrent model
// cannot: then all are decoded anew).
void decode_all(llama_context * ctx, const std::vector<Token> & tokens, size_t step,
                const std::function<void(size_t, const float *)> & row, size_t kept = 0, size_t first_row = 0) {
    if (kept == 0 || !llama_memory_seq_rm(llama_get_memory(ctx), 0, static_cast<llama_pos>(kept), -1)) {
        llama_memory_clear(llama_get_memory(ctx), true);
        kept = 0;
    }
    llama_batch batch = llama_batch_init(static_cast<int32_t>(tokens.size()), 0, 1);
    for (size_t first = kept; first < tokens.size(); first += step) {
        const size_t last = std::min(tokens.size(), first + step);
        batch.n_tokens = 0;
        for (size_t i = first; i < last; ++i) {
            const int j = batch.n_tokens++;
            batch.token[j] = tokens[i];
            batch.pos[j] = static_cast<llama_pos>(i);
            batch.n_seq_id[j] = 1;
            batch.seq_id[j][0] = 0;
            batch.logits[j] = i >= first_row ? 1 : 0;
        }
        if (llama_decode(ctx, batch) != 0) {
            llama_batch_free(batch);
            throw std::runtime_error("reference decode failed");
        }
        for (int j = 0; j < batch.n_tokens; ++j) {
            if (batch.logits[j] != 0) {
                row(first + static_cast<size_t>(j), llama_get_logits_ith(ctx, j));
            }
        }
    }
    llama_batch_free(batch);
}

size_t common_prefix(const std::vector<Token> & a, const std::vector<Token> & b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) {
        ++n;
    }
    return n;
}

}  // namespace

std::vector<LoglikelihoodResult> reference_loglikelihood(const Model & model,
                                                         const std::vector<TokenizedRequest> & requests, int ubatch) {
    const int n_vocab = model.facts().n_vocab;
    size_t longest = 0;
    for (const auto & r : requests) {
        longest = std::max(longest, r.tokens.size());
    }
    const auto ctx = single_sequence_context(model, longest);
    std::vector<LoglikelihoodResult> out;
    const std::vector<Token> * previous = nullptr;
    for (const auto & r : requests) {
        LoglikelihoodResult res;
        res.greedy = true;
        const auto score = [&](size_t pos, const float * logits) {
            if (pos + 1 < r.n_context || pos + 1 >= r.tokens.size()) {
                return;  // predicts no continuation token
            }
            const auto [logprob, greedy] = token_logprob(logits, n_vocab, r.tokens[pos + 1]);
            res.logprob += logprob;
            res.greedy = res.greedy && greedy;
            ++res.n_tokens;
        };
        // Logits from the first position that predicts a continuation token
        // to the last: at least two rows, so a 16-bit output product never
        // has the single column that takes llama.cpp's other kernel, and the
        // output layer (Gemma's soft-capped 262k words) is not computed for
        // the context.
        const size_t first_row = r.n_context > 0 ? r.n_context - 1 : 0;
        if (ubatch == 1) {
            // Token by token every decode is one token whatever else the
            // cache holds, so the context a request shares with the one
            // before stays (as a server's prompt cache keeps it): the same
            // single-token decodes of every token, several times fewer.
            const size_t kept = previous ? std::min(common_prefix(*previous, r.tokens), first_row) : 0;
            decode_all(ctx.get(), r.tokens, 1, score, kept, first_row);
        } else if (ubatch == 0) {
            decode_all(ctx.get(), r.tokens, r.tokens.size(), score, 0, first_row);
        } else {  // a chunk may hold one row: all rows, as it was fed
            decode_all(ctx.get(), r.tokens, static_cast<size_t>(ubatch), score);
        }
        previous = &r.tokens;
        out.push_back(res);
    }
    return out;
}

std::vector<std::vector<float>> reference_logits(const Model & model, const std::vector<Token> & tokens) {
    const auto n_vocab = static_cast<size_t>(model.facts().n_vocab);
    std::vector<std::vector<float>> out;
    const auto ctx = single_sequence_context(model, tokens.size());
    decode_all(ctx.get(), tokens, tokens.size(),
               [&](size_t, const float * row) { out.emplace_back(row, row + n_vocab); });
    return out;
}

std::vector<float> reference_logits(const Model & model, const std::vector<Token> & tokens, size_t pos) {
    return reference_logits(model, tokens)[pos];
}

std::pair<double, bool> token_logprob(const float * logits, int n_vocab, Token token) {
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
    return {static_cast<double>(logits[token]) - max_v - std::log(sum), argmax == token};
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

std::string write_yes_no_task(const std::string & dir, const std::string & extra) {
    test::write(dir, "items.tsv",
                "statement\tanswer\na fake gun is a gun\tno\na red apple is a fruit\tyes\n"
                "a former senator is a senator\tno\na small elephant is an elephant\tyes\n");
    return test::write(dir, "task.yaml",
                       "name: judge\ncategory: test\ndata:\n  format: tsv\n  splits: {test: \"" + dir +
                           "/items.tsv\"}\nscoring:\n  mode: label_words\n  label: answer\n"
                           "  label_words: {\"yes\": \" yes\", \"no\": \" no\"}\n" +
                           extra +
                           "metrics: [acc]\nprompts:\n  - name: q\n    plain: \"Is it true that {{statement}}? "
                           "Answer:\"\n    chat:\n      user: \"Is it true that {{statement}}?\"\n");
}

// A self-contained suite over generated data: two tasks, two models.
std::string write_toy_suite(const std::string & dir, size_t rows) {
    std::ofstream data(dir + "/toy.tsv");
    data << "text\tlabel\tkind\n";
    const char * adjectives[] = {"red", "fake", "small", "former", "wooden", "toy", "green", "alleged"};
    const char * nouns[] = {"apple", "gun", "car", "chair", "leaf", "coin", "house", "river"};
    for (size_t i = 0; i < rows; ++i) {
        const char * a = adjectives[i % 8];
        const char * n = nouns[(i / 8) % 8];
        data << "a " << a << " " << n << " number " << i << " is a " << n << "\t" << (i % 3 == 0 ? 0 : 1) << "\tk"
             << i % 2 << "\n";
    }
    data.close();
    std::ofstream(dir + "/toy.yaml") << R"(name: toy
category: test
data:
  format: tsv
  splits:
    all: "{data_dir}/toy.tsv"
  keep: [kind]
scoring:
  mode: label_words
  label: label
  label_words: {"1": " yes", "0": " no"}
prompts:
  - name: question
    plain: "Question: is it true that {{text}}? Answer:"
    chat: {user: "Is it true that {{text}}?"}
  - name: claim
    plain: "Claim: {{text}}. True? Answer:"
    chat: {user: "Claim: {{text}}. True or false?"}
)";
    std::ofstream(dir + "/toy-mc.yaml") << R"(name: toy-mc
data:
  format: tsv
  splits:
    all: "{data_dir}/toy.tsv"
scoring:
  mode: ranking_pairs
  label: label
  pair_by: kind
  positive: "1"
  choice: " {{text}}"
prompts:
  - name: plain
    plain: "Which is true?"
    chat: {user: "Which is true?"}
  - name: plain2
    plain: "A true sentence:"
    chat: {user: "Say a true sentence."}
)";
    const std::string chat_model = model_path("chat-tiny-suite", kChatTemplate);
    std::ofstream(dir + "/suite.yaml") << "name: toy-suite\ndata_dir: .\nmodels:\n"
                                       << "  - {name: base, path: " << model_path("tiny-f32")
                                       << ", family: random, size: 4M, variant: base}\n"
                                       << "  - {name: chat, path: " << chat_model
                                       << ", family: random, size: 4M, variant: instruct}\n"
                                       << "tasks:\n  - toy.yaml\n  - {path: toy-mc.yaml, limit: 60}\n";
    return dir + "/suite.yaml";
}

}  // namespace compeval::test
