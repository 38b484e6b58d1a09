#pragma once
// How a task's items become prompts, shared by every answer route: the
// seeded few-shot draw, the plain context, and the chat conversation (with
// the model's template rendering it).
#include "backends/language_model.hpp"
#include "tasks/item_sample.hpp"
#include "tasks/task_items.hpp"
#include "tasks/task_spec.hpp"

#include <string>
#include <vector>

namespace compeval {

std::string strip_leading_space(const std::string & s);

// Every split's items, each kept by `limit` (item_sample.hpp), in split order.
std::vector<TaskItem> load_limited_items(const TaskSpec & spec, const ItemLimit & limit);

// Few-shot examples: one seeded draw from the pool, shared by every item so
// the preamble is a shared prefix; an example identical to the test item is
// swapped for the next candidate.
class FewShotPool {
  public:
    explicit FewShotPool(const TaskSpec & spec);
    std::vector<const TaskItem *> shots_for(const TaskItem & item) const;

  private:
    size_t k_;
    std::vector<TaskItem> pool_;
    std::vector<size_t> order_;
};

std::string plain_context(const TaskSpec & spec, const PromptVariant & v, const std::vector<const TaskItem *> & shots,
                          const TaskItem & item);

// The conversation of one item (or, with item == nullptr, the content-free
// calibration prompt whose user turn is `user_override`); the answers of
// few-shot examples are the assistant turns.
std::vector<ChatMessage> chat_messages(const PromptVariant & v, const std::vector<const TaskItem *> & shots,
                                       const TaskItem * item, const std::string & user_override = "");

// "FILE:LINE: " of an item, for messages.
std::string item_location(const TaskSpec & spec, const TaskItem & item);

// Chat form when asked, or (Auto) when the model has a template and every
// prompt variant a chat form; throws when chat is asked of a task without one.
bool use_chat_form(const LanguageModel & model, const TaskSpec & spec, bool ask_chat, bool ask_auto);

}  // namespace compeval
