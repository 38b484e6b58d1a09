#pragma once
// How a task's answer is read from the model. The log-likelihood route
// scores every choice (in-process, by forced tokens or by echo on a server);
// the first-token route ranks the label words by their first token's
// log-probability at the answer position; the generative route lets the model
// write and maps its text to a label (answer_extraction.hpp).
#include <string>
#include <vector>

namespace compeval {

enum class AnswerRoute { Loglikelihood, FirstToken, Generate };

const char * answer_route_name(AnswerRoute route);  // "loglikelihood", "first_token", "generate"
// Throws compeval::Error naming the known routes.
AnswerRoute parse_answer_route(const std::string & name);

struct AnswerOptions {
    AnswerRoute route = AnswerRoute::Loglikelihood;
    // Generative route: greedy, at most max_tokens, ending before a stop
    // string (a chat answer also ends with its turn).
    int max_tokens = 16;
    std::vector<std::string> stop = {"\n"};
    // Which label counts when the text names several: the first or the last.
    bool last_match = false;
    // A regular expression (ECMAScript); its first group (else the whole
    // match) must equal a label word, case-insensitively. Empty: label words
    // as whole words.
    std::string regex;
    // First-token route: how many candidates the API is asked for.
    int top_logprobs = 20;
};

// A task's label in results: its name for the log-likelihood route,
// "NAME:first_token" or "NAME:generate" otherwise, so one suite can hold a
// task scored several ways.
std::string routed_task_name(const std::string & task, AnswerRoute route);

}  // namespace compeval
