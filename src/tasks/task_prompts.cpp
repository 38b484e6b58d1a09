#include "tasks/task_prompts.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <numeric>
#include <random>

namespace compeval {

std::string strip_leading_space(const std::string & s) {
    const auto b = s.find_first_not_of(' ');
    return b == std::string::npos ? s : s.substr(b);
}

std::vector<TaskItem> load_limited_items(const TaskSpec & spec, const ItemLimit & limit) {
    std::vector<TaskItem> out;
    for (const auto & [split, path] : spec.splits) {
        auto items = limit_items(load_task_items(spec, split, path), limit, spec.name, split);
        out.insert(out.end(), items.begin(), items.end());
    }
    return out;
}

FewShotPool::FewShotPool(const TaskSpec & spec) : k_(static_cast<size_t>(spec.fewshot_k)) {
    if (k_ == 0) {
        return;
    }
    pool_ = load_fewshot_items(spec);
    if (pool_.size() <= k_) {
        throw Error(spec.fewshot_path + ": few-shot pool has " + std::to_string(pool_.size()) +
                    " items; k = " + std::to_string(k_) + " needs more");
    }
    order_.resize(pool_.size());
    std::iota(order_.begin(), order_.end(), 0);
    std::mt19937_64 rng(spec.fewshot_seed);
    std::shuffle(order_.begin(), order_.end(), rng);
}

std::string plain_context(const TaskSpec & spec, const PromptVariant & v, const std::vector<const TaskItem *> & shots,
                          const TaskItem & item) {
    std::string out;
    for (const auto * shot : shots) {
        out += v.plain.render(shot->fields) + shot->choices[static_cast<size_t>(shot->gold)] + spec.fewshot_separator;
    }
    return out + v.plain.render(item.fields);
}

std::vector<ChatMessage> chat_messages(const PromptVariant & v, const std::vector<const TaskItem *> & shots,
                                       const TaskItem * item, const std::string & user_override) {
    std::vector<ChatMessage> messages;
    if (!v.chat_system.empty()) {
        // The content-free calibration prompt has no item: its system message
        // must not depend on item fields.
        messages.push_back(
            {"system", v.chat_system.render(item != nullptr ? item->fields : std::map<std::string, std::string>{})});
    }
    for (const auto * shot : shots) {
        messages.push_back({"user", v.chat_user.render(shot->fields)});
        messages.push_back({"assistant", strip_leading_space(shot->choices[static_cast<size_t>(shot->gold)])});
    }
    messages.push_back({"user", item != nullptr ? v.chat_user.render(item->fields) : user_override});
    return messages;
}

std::string item_location(const TaskSpec & spec, const TaskItem & item) {
    for (const auto & [name, path] : spec.splits) {
        if (name == item.split) {
            return path + ":" + std::to_string(item.line) + ": ";
        }
    }
    return item.split + ":" + std::to_string(item.line) + ": ";
}

std::vector<const TaskItem *> FewShotPool::shots_for(const TaskItem & item) const {
    std::vector<const TaskItem *> out;
    for (size_t i = 0; i < order_.size() && out.size() < k_; ++i) {
        const TaskItem & candidate = pool_[order_[i]];
        if (candidate.fields != item.fields) {
            out.push_back(&candidate);
        }
    }
    return out;
}

bool use_chat_form(const LanguageModel & model, const TaskSpec & spec, bool ask_chat, bool ask_auto) {
    const bool every_variant_has_chat =
        std::all_of(spec.prompts.begin(), spec.prompts.end(), [](const auto & v) { return !v.chat_user.empty(); });
    const bool has_template = model.facts().has_chat_template || model.applies_chat_template();
    const bool chat = ask_auto ? has_template && every_variant_has_chat : ask_chat;
    if (chat && !every_variant_has_chat) {
        throw Error(spec.path + ": chat form requested but a prompt variant has no 'chat' form");
    }
    return chat;
}

}  // namespace compeval
