#include "tasks/answer_task.hpp"

#include "tasks/answer_extraction.hpp"
#include "tasks/task_prompts.hpp"
#include "util/error.hpp"

namespace compeval {

PreparedAnswers prepare_answers(const LanguageModel & model, const TaskSpec & spec, AnswerRoute route,
                                const TaskRunOptions & options) {
    if (route == AnswerRoute::Loglikelihood) {
        throw Error(spec.path + ": the loglikelihood route scores choices (prepare_task), it reads no answer");
    }
    try {
        check_answer_route(spec, route);
    } catch (const Error & e) {
        throw Error(spec.path + ": " + e.what());
    }
    PreparedAnswers prepared;
    TaskResult & result = prepared.result;
    result.task = spec.name;
    result.limit = options.limit;
    result.route = answer_route_name(route);
    result.items = load_limited_items(spec, options.limit);
    const FewShotPool pool(spec);
    const bool chat = use_chat_form(model, spec, options.form == PromptForm::Chat, options.form == PromptForm::Auto);
    result.form = chat ? "chat" : "plain";
    for (const auto & v : spec.prompts) {
        for (size_t i = 0; i < result.items.size(); ++i) {
            const TaskItem & item = result.items[i];
            const auto shots = pool.shots_for(item);
            TaskItemResult r;
            r.item = i;
            r.variant = v.name;
            GenerationRequest request;
            if (chat) {
                request.messages = chat_messages(v, shots, &item);
                if (model.applies_chat_template()) {
                    // The server renders the conversation; the record shows it as messages.
                    for (const auto & m : request.messages) {
                        r.context += "[" + m.role + "] " + m.content + "\n";
                    }
                } else {
                    request.prompt = model.render_chat(request.messages);
                    request.parse_special = true;
                }
            } else {
                request.prompt = plain_context(spec, v, shots, item);
            }
            if (r.context.empty()) {
                r.context = request.prompt;
            }
            if (route == AnswerRoute::FirstToken) {
                request.max_tokens = 1;
                request.top_logprobs = spec.answer.top_logprobs;
            } else {
                request.max_tokens = spec.answer.max_tokens;
                request.stop = spec.answer.stop;
            }
            prepared.requests.push_back(std::move(request));
            result.results.push_back(std::move(r));
        }
    }
    return prepared;
}

void finish_answers(const LanguageModel & model, const TaskSpec & spec, PreparedAnswers & prepared,
                    const std::vector<GenerationResult> & answers, const std::string & endpoint) {
    TaskResult & result = prepared.result;
    if (answers.size() != result.results.size()) {
        throw Error(spec.path + ": " + std::to_string(answers.size()) + " answers for " +
                    std::to_string(result.results.size()) + " prompts");
    }
    result.endpoint = endpoint;
    const bool first_token = result.route == answer_route_name(AnswerRoute::FirstToken);
    // Each distinct label's first-token forms, tokenized once.
    std::map<std::string, std::set<std::string>> forms_of;
    for (size_t k = 0; k < result.results.size(); ++k) {
        auto & r = result.results[k];
        const TaskItem & item = result.items[r.item];
        const GenerationResult & a = answers[k];
        int pred = -1;
        if (first_token) {
            std::vector<std::set<std::string>> forms;
            for (const auto & choice : item.choices) {
                auto [it, fresh] = forms_of.try_emplace(choice);
                if (fresh) {
                    it->second = first_token_forms(model, choice);
                }
                forms.push_back(it->second);
            }
            const FirstTokenScores scores = rank_first_tokens(a.first_top, forms);
            r.first_token = scores.logprob;
            r.first_token_listed = scores.listed;
            for (const auto & t : a.first_top) {
                r.first_top.emplace_back(t.token, t.logprob);
            }
            pred = scores.pred;
        } else {
            r.answer = a.text;
            pred = extract_label(a.text, item.choices, spec.answer);
        }
        r.no_answer = pred < 0;
        r.pred["acc"] = pred;
    }
    compute_task_metrics(spec, {"acc"}, result);
}

TaskResult run_answer_task(AnswerGenerator & generator, const TaskSpec & spec, AnswerRoute route,
                           const TaskRunOptions & options) {
    PreparedAnswers prepared = prepare_answers(generator.language_model(), spec, route, options);
    const bool chat = prepared.result.form == "chat";
    finish_answers(generator.language_model(), spec, prepared, generator.generate(prepared.requests),
                   generator.endpoint(chat));
    return std::move(prepared.result);
}

}  // namespace compeval
