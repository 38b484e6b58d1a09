#pragma once
// Prompt templates: text with {{field}} placeholders, optionally piped through
// filters applied left to right: {{text|lower_first}}, {{text|upper_first}},
// {{text|no_period}}, {{text|lower}}, {{text|lower_first|no_period}}.
#include <map>
#include <string>
#include <vector>

namespace compeval {

class PromptTemplate {
  public:
    PromptTemplate() = default;
    // Throws compeval::Error naming the problem (unclosed braces, unknown filter).
    explicit PromptTemplate(std::string text);

    std::string render(const std::map<std::string, std::string> & fields) const;
    // Fields the template reads, to validate against the data before scoring.
    const std::vector<std::string> & fields() const { return fields_; }
    const std::string & text() const { return text_; }
    bool empty() const { return text_.empty(); }

  private:
    struct Part {
        std::string literal;
        std::string field;  // empty for a literal part
        std::vector<std::string> filters;
    };
    std::string text_;
    std::vector<Part> parts_;
    std::vector<std::string> fields_;
};

}  // namespace compeval
