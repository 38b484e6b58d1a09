#include "backends/model.hpp"
#include "domains/domain_build.hpp"
#include "lab/lab_corpus.hpp"
#include "lab/word_vocab.hpp"
#include "model/random_model.hpp"
#include "scoring/requests.hpp"
#include "tasks/task_prompts.hpp"
#include "tasks/task_spec.hpp"
#include "util/error.hpp"
#include "util/sha256.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

namespace compeval {
namespace {

const std::string kSpace = "\xE2\x96\x81";  // U+2581, SPM's word-start mark

enum class Script { space, alnum, hiragana, katakana, han, other };

// The code point at text[i] and its length in bytes (text is valid UTF-8).
std::pair<uint32_t, size_t> code_point(const std::string & text, size_t i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1FU : n == 3 ? c & 0x0FU : c & 0x07U;
    for (size_t k = 1; k < n && i + k < text.size(); ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3FU);
    }
    return {cp, n};
}

Script script_of(uint32_t cp) {
    if (cp == 0x2581) {
        return Script::space;
    }
    if ((cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || cp == '-' || cp == '_' ||
        (cp >= 0xC0 && cp < 0x2000)) {
        return Script::alnum;
    }
    if (cp >= 0x3041 && cp <= 0x309F) {
        return Script::hiragana;
    }
    if ((cp >= 0x30A0 && cp <= 0x30FF) || cp == 0x30FC) {
        return Script::katakana;
    }
    if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF)) {
        return Script::han;
    }
    return Script::other;
}

// The pieces of `text` as SPM sees it (a leading space, every space "▁"):
// spaces join the run after them; a run is letters and digits, or one
// Japanese script; any other character is a piece of its own. Control
// characters (a newline) are left to the byte pieces.
void collect_pieces(const std::string & text, std::set<std::string> & pieces) {
    std::string escaped = kSpace;
    for (const char c : text) {
        escaped += c == ' ' ? kSpace : std::string(1, c);
    }
    std::string piece;
    Script run = Script::space;
    auto flush = [&] {
        if (!piece.empty() && piece != kSpace) {
            pieces.insert(piece);
        }
        piece.clear();
        run = Script::space;
    };
    for (size_t i = 0; i < escaped.size();) {
        const auto [cp, n] = code_point(escaped, i);
        const std::string ch = escaped.substr(i, n);
        i += n;
        const Script s = script_of(cp);
        if (cp < 0x20) {
            flush();
            continue;
        }
        if (s == Script::space) {
            if (run != Script::space) {
                flush();
            }
            piece += ch;
            continue;
        }
        if (s == Script::other) {
            piece += ch;
            flush();
            continue;
        }
        if (run != Script::space && run != s) {
            flush();
        }
        piece += ch;
        run = s;
    }
    flush();
}

// A tiny random model carrying the vocabulary and the lab's chat template:
// what llama.cpp needs to tokenize and render the corpus as scoring will.
std::unique_ptr<Model> tokenizer_model(const std::string & vocab_gguf, const std::string & dir) {
    RandomModelSpec spec;
    spec.name = "compeval-lab-tokenizer";
    spec.n_embd = 16;
    spec.n_layer = 1;
    spec.n_head = 2;
    spec.n_head_kv = 2;
    spec.n_ff = 32;
    spec.weights = WeightType::F32;
    spec.vocab_path = vocab_gguf;
    spec.chat_template = kLabChatTemplate;
    const std::string path = dir + "/tokenizer.gguf";
    write_random_model(spec, path);
    ModelOptions options;
    options.vocab_only = true;
    return std::make_unique<Model>(path, options);
}

// What a document's examples are drawn from: each seen combination once with
// its label, or, for a records domain (items carrying their rows' outcome
// counts), each kept row with its own outcome, so a model meets the observed
// shares.
struct Example {
    size_t item = 0;
    int gold = 0;
};

std::vector<Example> example_pool(const std::vector<TaskItem> & seen) {
    std::vector<Example> pool;
    for (size_t i = 0; i < seen.size(); ++i) {
        if (seen[i].human.empty()) {
            pool.push_back({i, seen[i].gold});
            continue;
        }
        for (size_t o = 0; o < seen[i].human.size(); ++o) {
            for (auto n = static_cast<size_t>(seen[i].human[o]); n > 0; --n) {
                pool.push_back({i, static_cast<int>(o)});
            }
        }
    }
    return pool;
}

class DocumentWriter {
  public:
    DocumentWriter(const TaskSpec & spec, std::vector<TaskItem> seen, const Model & model)
        : spec_(spec), seen_(std::move(seen)), pool_(example_pool(seen_)), model_(model) {}

    // One document: a prompt variant, 0 to k shots and one example, each with
    // its gold answer, in the plain or the chat form; its token ids (no BOS).
    std::vector<int> document(std::mt19937_64 & rng, bool chat) const {
        const auto & v = spec_.prompts[std::uniform_int_distribution<size_t>(0, spec_.prompts.size() - 1)(rng)];
        const auto k = std::uniform_int_distribution<size_t>(0, static_cast<size_t>(spec_.fewshot_k))(rng);
        const auto picked = pick(rng, k + 1);
        std::vector<TaskItem> shown;  // the shots and the example, each with the answer it is shown with
        shown.reserve(picked.size());
        for (const size_t p : picked) {
            shown.push_back(seen_[pool_[p].item]);
            shown.back().gold = pool_[p].gold;
        }
        std::vector<const TaskItem *> shots;
        for (size_t i = 0; i < k; ++i) {
            shots.push_back(&shown[i]);
        }
        const TaskItem & item = shown[k];
        const std::string & answer = item.choices[static_cast<size_t>(item.gold)];
        const LoglikelihoodRequest request =
            chat ? LoglikelihoodRequest{model_.render_chat(chat_messages(v, shots, &item)), strip_leading_space(answer),
                                        true}
                 : LoglikelihoodRequest{plain_context(spec_, v, shots, item), answer, false};
        const auto tokens = tokenize_request(model_, request).tokens;
        std::vector<int> ids(tokens.begin(), tokens.end());
        if (!ids.empty() && ids.front() == WordVocab::bos()) {
            ids.erase(ids.begin());
        }
        return ids;
    }

    std::vector<std::vector<int>> documents(size_t count, uint64_t seed, bool chat) const {
        std::mt19937_64 rng(seed);
        std::vector<std::vector<int>> out;
        out.reserve(count);
        for (size_t i = 0; i < count; ++i) {
            out.push_back(document(rng, chat));
        }
        return out;
    }

    size_t pool_size() const { return pool_.size(); }

  private:
    // `count` distinct pool entries (fewer where the pool is smaller).
    std::vector<size_t> pick(std::mt19937_64 & rng, size_t count) const {
        if (pool_.size() == seen_.size()) {
            // One entry per combination: a partial shuffle, as the lab has
            // always drawn (a zoo's documents stay the same).
            std::vector<size_t> order(pool_.size());
            for (size_t i = 0; i < order.size(); ++i) {
                order[i] = i;
            }
            for (size_t i = 0; i < count && i + 1 < order.size(); ++i) {
                std::swap(order[i], order[std::uniform_int_distribution<size_t>(i, order.size() - 1)(rng)]);
            }
            order.resize(std::min(count, order.size()));
            return order;
        }
        // Rows: a log may hold many thousands; draw without a full permutation.
        std::vector<size_t> picked;
        std::uniform_int_distribution<size_t> any(0, pool_.size() - 1);
        while (picked.size() < std::min(count, pool_.size())) {
            const size_t p = any(rng);
            if (std::find(picked.begin(), picked.end(), p) == picked.end()) {
                picked.push_back(p);
            }
        }
        return picked;
    }

    const TaskSpec & spec_;
    std::vector<TaskItem> seen_;
    std::vector<Example> pool_;
    const Model & model_;
};

std::string file_text(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

LabCorpus domain_corpus(const DomainCorpusConfig & config, const std::string & dir) {
    const DomainSpec domain = load_domain_spec(config.path);
    std::filesystem::create_directories(dir);
    build_domain(domain, dir);
    // The task and the model outlive this call inside `instructions`.
    auto spec = std::make_shared<TaskSpec>(load_task_spec(dir + "/task.yaml", dir));
    const auto items = load_limited_items(*spec, {});
    std::vector<TaskItem> seen;
    std::copy_if(items.begin(), items.end(), std::back_inserter(seen),
                 [](const TaskItem & i) { return i.split == "seen"; });
    if (seen.size() <= static_cast<size_t>(spec->fewshot_k)) {
        throw Error(config.path + ": " + std::to_string(seen.size()) +
                    " seen combinations are too few to train on (more than fewshot_k are needed)");
    }

    // Every text scoring will read, seen and unseen (unseen combinations are
    // made of seen words), in both forms: the pieces the vocabulary needs.
    std::set<std::string> pieces;
    for (const auto & v : spec->prompts) {
        for (const auto & item : items) {
            collect_pieces(v.plain.render(item.fields), pieces);
            collect_pieces(v.chat_user.render(item.fields), pieces);
            if (!v.chat_system.empty()) {
                collect_pieces(v.chat_system.render(item.fields), pieces);
            }
            for (const auto & c : item.choices) {
                collect_pieces(c, pieces);
                collect_pieces(strip_leading_space(c), pieces);
            }
        }
    }
    for (const char * word : {"user", "assistant", "system"}) {  // the lab chat template's words
        collect_pieces(word, pieces);
    }
    const WordVocab vocab = WordVocab::from_pieces({pieces.begin(), pieces.end()});
    LabCorpus corpus;
    corpus.vocab_gguf = dir + "/vocab.gguf";
    vocab.write_gguf(corpus.vocab_gguf);
    corpus.n_vocab = vocab.size();
    auto model = std::shared_ptr<Model>(tokenizer_model(corpus.vocab_gguf, dir));
    auto writer = std::make_shared<DocumentWriter>(*spec, seen, *model);
    corpus.train = writer->documents(config.documents, config.seed, false);
    corpus.validation = writer->documents(config.validation, config.seed + 1000003, false);
    // Zoo models train side by side and ask for their examples at once; the
    // chat template's renderer is not known to be thread-safe.
    auto lock = std::make_shared<std::mutex>();
    corpus.instructions = [spec, model, writer, lock](size_t count, bool /*narrow*/, uint64_t seed) {
        const std::lock_guard<std::mutex> guard(*lock);
        return writer->documents(count, seed, true);
    };
    // Room for the longest prompt scoring builds (k shots and the item, the
    // longer of the two forms) with the answer, BOS and EOS.
    size_t longest = 0;
    for (const auto & doc : writer->documents(200, config.seed + 7, true)) {
        longest = std::max(longest, doc.size());
    }
    for (const auto & doc : corpus.train) {
        longest = std::max(longest, doc.size());
    }
    corpus.n_ctx = static_cast<int>((longest * 3 / 2 + 2 + 15) / 16 * 16);
    std::string key = fmt::format("domain|{}|{}|{}|{}|{}", file_text(config.path), config.documents, config.validation,
                                  config.seed, kLabChatTemplate);
    if (domain.records) {
        // The log and master tables live in files of their own: what was
        // made of them (rows, split) is part of what a model learned.
        key += "|" + file_text(dir + "/seen.tsv") + "|" + file_text(dir + "/unseen.tsv");
    }
    corpus.key = sha256_string(key);
    corpus.description =
        fmt::format("domain={} ({} seen / {} combinations{}), documents={}, seed={}, vocabulary={} pieces", domain.name,
                    seen.size(), items.size(),
                    domain.records ? fmt::format("; {} rows of records", writer->pool_size()) : std::string(),
                    config.documents, config.seed, vocab.size());
    corpus.suite_tasks = "  - {path: domain/task.yaml, data_dir: domain}\n";
    return corpus;
}

}  // namespace compeval
