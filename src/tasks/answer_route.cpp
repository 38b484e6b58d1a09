#include "tasks/answer_route.hpp"

#include "util/error.hpp"

namespace compeval {

const char * answer_route_name(AnswerRoute route) {
    switch (route) {
        case AnswerRoute::FirstToken:
            return "first_token";
        case AnswerRoute::Generate:
            return "generate";
        case AnswerRoute::Loglikelihood:
            break;
    }
    return "loglikelihood";
}

AnswerRoute parse_answer_route(const std::string & name) {
    for (auto r : {AnswerRoute::Loglikelihood, AnswerRoute::FirstToken, AnswerRoute::Generate}) {
        if (name == answer_route_name(r)) {
            return r;
        }
    }
    throw Error("unknown answer route '" + name + "' (loglikelihood, first_token, generate)");
}

std::string routed_task_name(const std::string & task, AnswerRoute route) {
    return route == AnswerRoute::Loglikelihood ? task : task + ":" + answer_route_name(route);
}

}  // namespace compeval
