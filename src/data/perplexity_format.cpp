#include "data/perplexity_format.hpp"

#include "util/error.hpp"

#include <cstdint>
#include <fstream>
#include <sstream>

namespace compeval {
namespace {

void put_u32(std::ostream & out, uint32_t v) {
    out.write(reinterpret_cast<const char *>(&v), sizeof v);
}

void put_string(std::ostream & out, const std::string & s) {
    put_u32(out, static_cast<uint32_t>(s.size()));
    out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

}  // namespace

void write_perplexity_mc(const std::vector<McItem> & items, const std::string & path) {
    std::vector<std::string> tasks;
    for (const auto & item : items) {
        if (item.context.empty() || std::isspace(static_cast<unsigned char>(item.context.back())) != 0) {
            throw Error("line " + std::to_string(item.line) + ": context must be non-empty and not end in whitespace");
        }
        std::ostringstream task;
        put_string(task, item.context);
        put_u32(task, static_cast<uint32_t>(item.choices.size()));
        for (const auto & choice : item.choices) {
            if (choice.size() < 2 || choice[0] != ' ' || choice[1] == ' ') {
                throw Error("line " + std::to_string(item.line) + ": every choice must start with exactly one space");
            }
            put_string(task, choice.substr(1));
        }
        for (size_t c = 0; c < item.choices.size(); ++c) {
            const int32_t label = static_cast<int>(c) == item.gold ? 1 : 0;
            task.write(reinterpret_cast<const char *>(&label), sizeof label);
        }
        put_u32(task, 0);  // no multi-answer (mc2) choices
        tasks.push_back(task.str());
    }
    std::ofstream out(path, std::ios::binary);
    if (!out) {
        throw Error(path + ": cannot write");
    }
    put_u32(out, static_cast<uint32_t>(tasks.size()));
    auto offset = static_cast<uint32_t>(sizeof(uint32_t) * (1 + tasks.size()));
    for (const auto & t : tasks) {
        put_u32(out, offset);
        offset += static_cast<uint32_t>(t.size());
    }
    for (const auto & t : tasks) {
        out.write(t.data(), static_cast<std::streamsize>(t.size()));
    }
}

}  // namespace compeval
