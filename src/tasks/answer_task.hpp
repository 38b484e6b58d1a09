#pragma once
// A task through the first-token or the generative route (answer_route.hpp):
// one generation request per item x prompt variant, the same prompts as the
// log-likelihood route, the answer read by answer_extraction.hpp. An item
// whose answer names no label is kept with its text and counted as
// `no_answer` (and as wrong), never dropped or read as some label.
#include "scoring/answer_generator.hpp"
#include "tasks/task_runner.hpp"

namespace compeval {

struct PreparedAnswers {
    TaskResult result;
    std::vector<GenerationRequest> requests;  // one per result, in order
};

// Throws compeval::Error when the route cannot read this task (check_answer_route).
PreparedAnswers prepare_answers(const LanguageModel & model, const TaskSpec & spec, AnswerRoute route,
                                const TaskRunOptions & options = {});

// Reads one answer per request into predictions ("acc") and metrics;
// `endpoint` is where the answers came from (AnswerGenerator::endpoint).
void finish_answers(const LanguageModel & model, const TaskSpec & spec, PreparedAnswers & prepared,
                    const std::vector<GenerationResult> & answers, const std::string & endpoint);

// prepare_answers, generate, finish_answers.
TaskResult run_answer_task(AnswerGenerator & generator, const TaskSpec & spec, AnswerRoute route,
                           const TaskRunOptions & options = {});

}  // namespace compeval
