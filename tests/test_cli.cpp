// The CLI as a user runs it: real binary, real files, exit codes, stderr.
#include "data/synthetic_items.hpp"
#include "test_support.hpp"
#include "util/machine.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace compeval {
namespace {

std::vector<nlohmann::json> read_jsonl(const std::string & path) {
    std::vector<nlohmann::json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(nlohmann::json::parse(line));
    }
    return out;
}

TEST(Cli, ScoresTheBundledItemsAndRecordsProvenance) {
    const std::string dir = test::temp_dir("cli-score");
    const std::string model = test::model_path("tiny-f16");
    const std::string items = test::source_dir() + "/data/demo-items.jsonl";
    const auto run = test::run_command(test::compeval_binary() + " score -m " + model + " -i " + items + " -o " + dir +
                                       "/scores.jsonl --threads 1 --batch 32");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("acc "), std::string::npos) << run.out;
    const auto lines = read_jsonl(dir + "/scores.jsonl");
    ASSERT_EQ(lines.size(), 20U);
    size_t correct = 0;
    for (const auto & l : lines) {
        ASSERT_EQ(l["choices"].size(), 2U);
        EXPECT_LT(l["choices"][0]["logprob"].get<double>(), 0.0);
        EXPECT_GE(l["choices"][0]["n_tokens"].get<int>(), 1);
        EXPECT_EQ(l["choices"][0]["boundary"], "joint");  // " yes" after "Answer:" splits cleanly
        EXPECT_EQ(l["correct"].get<bool>(), l["pred"] == l["gold"]);
        correct += l["correct"].get<bool>() ? 1 : 0;
    }
    nlohmann::json meta;
    std::ifstream(dir + "/scores.jsonl.meta.json") >> meta;
    EXPECT_EQ(meta["model"]["sha256"].get<std::string>().size(), 64U);
    EXPECT_EQ(meta["engine"]["kv_cache"], "f32");
    EXPECT_DOUBLE_EQ(meta["metrics"]["acc"].get<double>(), static_cast<double>(correct) / 20.0);
    EXPECT_FALSE(meta["llama_cpp"].get<std::string>().empty());
    // The CPU and the features that decide llama.cpp's arithmetic (docs/exactness.md).
    EXPECT_EQ(meta["machine"], machine_description());
    EXPECT_NE(meta["machine"].get<std::string>().find(" hardware threads"), std::string::npos);
    // How many pad tokens kept this F16 model's products off the single-column kernel.
    EXPECT_TRUE(meta["cost"]["pad_tokens"].is_number_unsigned()) << meta["cost"];
}

// The features named are the ones /proc/cpuinfo lists, in the fixed order.
TEST(Machine, NamesTheCpuFeaturesThatDecideTheArithmetic) {
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    std::string flags;
    while (std::getline(info, line)) {
        if (line.rfind("flags", 0) == 0) {
            flags = " " + line.substr(line.find(':') + 1) + " ";
            break;
        }
    }
    const std::string features = cpu_features();
    for (const char * f : {"avx2", "fma", "f16c", "avx512f", "avx512_bf16", "avx512_fp16", "avx512_vnni", "amx_int8"}) {
        const bool listed = (" " + features + " ").find(std::string(" ") + f + " ") != std::string::npos;
        EXPECT_EQ(listed, flags.find(std::string(" ") + f + " ") != std::string::npos) << f << " in " << features;
    }
    EXPECT_NE(machine_description().find(features), std::string::npos);
}

// A template whose answer follows "assistant:" directly: byte-level BPE
// merges ":" with the answer, every answer is scored as its own tokens, and
// `eval` says so in its output instead of failing or staying silent.
TEST(Cli, EvalSaysHowManyAnswersNeededTheSeparateBoundary) {
    if (!std::filesystem::exists(test::shared_data_dir() + "/plane/ood/OOV_test_1.tsv")) {
        GTEST_SKIP() << "shared data not found at " << test::shared_data_dir();
    }
    test::ArchModel m;
    m.vocab = "llama-bpe";
    m.label = "colon";
    m.chat_template =
        "{% for m in messages %}{{ m.role }}:{{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}";
    const std::string model = test::arch_model_path(m);
    const std::string task = test::source_dir() + "/tasks/plane-ood.yaml";
    const std::string base = test::compeval_binary() + " eval " + task + " --model " + model + " --data-dir " +
                             test::shared_data_dir() + " --limit 1 --form ";
    const auto chat = test::run_command(base + "chat");
    ASSERT_EQ(chat.exit_code, 0) << chat.err;
    EXPECT_NE(chat.out.find("token boundary: 10 of 10 item x variant lines scored the answer as its own tokens"),
              std::string::npos)
        << chat.out;
    const auto plain = test::run_command(base + "plain");
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_EQ(plain.out.find("token boundary"), std::string::npos) << plain.out;
}

TEST(Cli, BadInputsExitNonZeroWithOneLine) {
    const std::string dir = test::temp_dir("cli-bad");
    const std::string model = test::model_path("tiny-f16");
    std::ofstream(dir + "/bad.jsonl") << R"({"context": "x", "choices": [" a", " b"], "gold": "zero"})"
                                      << "\n";
    std::ofstream(dir + "/ok.jsonl") << R"({"context": "x", "choices": [" a", " b"], "gold": 0})"
                                     << "\n";
    std::ofstream(dir + "/fake.gguf") << "GGUF but not really";
    const std::string bin = test::compeval_binary();
    const std::vector<std::pair<std::string, std::string>> cases = {
        {bin + " score -m " + model + " -i " + dir + "/bad.jsonl -o " + dir + "/o.jsonl",
         dir + "/bad.jsonl:1: field 'gold' must be an integer"},
        {bin + " score -m " + dir + "/fake.gguf -i " + dir + "/ok.jsonl -o " + dir + "/o.jsonl",
         dir + "/fake.gguf: corrupt or truncated GGUF header"},
        {bin + " score -m " + dir + "/none.gguf -i " + dir + "/ok.jsonl -o " + dir + "/o.jsonl",
         dir + "/none.gguf: no such model file"},
        {bin + " score -m " + model + " -i " + dir + "/none.jsonl -o " + dir + "/o.jsonl",
         dir + "/none.jsonl: cannot open items file"},
    };
    for (const auto & [command, message] : cases) {
        const auto run = test::run_command(command);
        EXPECT_EQ(run.exit_code, 1) << command;
        EXPECT_EQ(run.err, "compeval: error: " + message + "\n");
    }
}

TEST(Cli, HelpDescribesTheScoreCommand) {
    const auto run = test::run_command(test::compeval_binary() + " score --help");
    EXPECT_EQ(run.exit_code, 0);
    for (const char * option : {"--model", "--items", "--out", "--threads", "--batch"}) {
        EXPECT_NE(run.out.find(option), std::string::npos) << option;
    }
}

// `compeval` alone says where to start; each subcommand's help ends with
// three examples, and each parses (COMPEVAL_PARSE_ONLY=1: arguments checked,
// nothing run). A misspelled flag in an example fails here.
TEST(Cli, EverySubcommandShowsThreeExamplesThatParse) {
    const auto bare = test::run_command(test::compeval_binary());
    EXPECT_EQ(bare.exit_code, 0);
    for (const char * way : {"bash scripts/demo.sh", "compeval pilot ", "compeval eval "}) {
        EXPECT_NE(bare.out.find(way), std::string::npos) << way << " in:\n" << bare.out;
    }
    const auto bad =
        test::run_command("COMPEVAL_PARSE_ONLY=1 " + test::compeval_binary() + " score -m x.gguf --no-such");
    EXPECT_NE(bad.exit_code, 0) << "parse-only still refuses an unknown flag";
    for (const char * sub : {"score", "eval", "run", "merge", "domain", "pilot", "compare", "report", "make-model",
                             "make-items", "info", "quantize", "to-perplexity", "lab", "chat-templates"}) {
        const auto help = test::run_command(test::compeval_binary() + " " + sub + " --help");
        ASSERT_EQ(help.exit_code, 0) << sub;
        const auto at = help.out.find("\nExamples:\n");
        ASSERT_NE(at, std::string::npos) << sub << " --help has no examples";
        std::istringstream lines(help.out.substr(at + 11));
        std::vector<std::string> commands;
        for (std::string line; std::getline(lines, line) && line.starts_with("  compeval ");) {
            commands.push_back(line.substr(11));
        }
        EXPECT_EQ(commands.size(), 3U) << sub;
        for (const auto & args : commands) {
            const auto parsed =
                test::run_command("COMPEVAL_PARSE_ONLY=1 " + test::compeval_binary() + " " + args + " 2>&1");
            EXPECT_EQ(parsed.exit_code, 0) << "compeval " << args << ": " << parsed.out;
        }
    }
}

// A command that trains nothing maps nothing a trainer would need: the
// dynamic linker names every shared object it maps, dlopen()ed ones too.
TEST(Cli, StartsWithoutATrainingFramework) {
    const std::string model = test::model_path("tiny-f32");
    for (const std::string & args : std::vector<std::string>{"--version", "info -m " + model}) {
        const auto run = test::run_command("LD_DEBUG=files " + test::compeval_binary() + " " + args);
        ASSERT_EQ(run.exit_code, 0) << args << ": " << run.err;
        EXPECT_NE(run.err.find("file=libstdc++.so"), std::string::npos) << "the linker's list is empty: " << run.err;
        for (const char * heavy : {"libtorch", "libc10", "libopencv", "libavcodec", "libQt5"}) {
            EXPECT_EQ(run.err.find(heavy), std::string::npos) << args << " maps " << heavy;
        }
    }
}

TEST(Cli, InterruptKeepsFinishedItemsAndExitsNonZero) {
    const std::string dir = test::temp_dir("cli-interrupt");
    const std::string model = test::model_path("small-f16");
    write_mc_items_jsonl(synthetic_mc_items({4000, 4, 12, 3, 0, 5}), dir + "/items.jsonl");
    const std::string out = dir + "/scores.jsonl";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        freopen((dir + "/err.txt").c_str(), "w", stderr);
        freopen("/dev/null", "w", stdout);
        execl(test::compeval_binary().c_str(), "compeval", "score", "-m", model.c_str(), "-i",
              (dir + "/items.jsonl").c_str(), "-o", out.c_str(), "--chunk", "20", nullptr);
        _exit(127);
    }
    // Wait until some chunks are written, then press Ctrl-C.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline &&
           (!std::filesystem::exists(out) || std::filesystem::file_size(out) < 2000)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1);
    const std::string err = test::read_file(dir + "/err.txt");
    const auto lines = read_jsonl(out);  // every written line is complete JSON
    EXPECT_GT(lines.size(), 0U);
    EXPECT_LT(lines.size(), 4000U);
    EXPECT_EQ(lines.size() % 20, 0U);
    EXPECT_NE(err.find("interrupted: " + std::to_string(lines.size()) + " of 4000 items were written"),
              std::string::npos)
        << err;
}

}  // namespace
}  // namespace compeval
