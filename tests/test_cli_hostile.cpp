// The symgrad executable given hostile or odd input, as issue 13 found it: each case here once crashed, hung,
// answered exit 1 ("internal error"), lost data or gave a silent wrong answer. Now: exit 2 with a one-line message
// that names the problem, or success.
#include <dirent.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"

using symgrad::testing::CliEnv;
using symgrad::testing::CliResult;
using symgrad::testing::run_cli;
using symgrad::testing::run_cli_with;
using symgrad::testing::slurp;

namespace {

// A fresh directory for one test's files, removed with everything in it.
struct TempDir {
    TempDir() {
        char name[] = "/tmp/symgrad_hostile_XXXXXX";
        path = mkdtemp(name);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name) const { return path + "/" + name; }
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(path)) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }
    std::string path;
};

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (length == 0 || i + length > s.size()) return false;
        for (std::size_t k = 1; k < length; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        }
        i += length;
    }
    return true;
}

// Exit 2, nothing on stdout, one line on stderr containing `message`.
void expect_refused(const CliResult& r, const std::string& message) {
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(r.err.starts_with("symgrad: error: "));
}

std::string request_with_data(const std::string& data) {
    return R"({"expr": "x", "values": {"x": {"shape": [2], "data": )" + data + "}}}";
}

}  // namespace

TEST_CASE("eval: deep nesting, huge numbers and stray keys are refused with the field named", "[cli][hostile]") {
    // Was a segmentation fault: the error message serialised the offending value recursively.
    const auto deep = run_cli({"eval", "-"}, request_with_data(std::string(100'000, '[')));
    expect_refused(deep, "values[\"x\"].data[0][0]");
    CHECK(deep.err.find("nests deeper than 32 levels") != std::string::npos);
    CHECK(deep.err.size() < 400);
    // Was "internal error: [json.exception.out_of_range.406]", exit 1.
    expect_refused(run_cli({"eval", "-"}, request_with_data("[1, 1e999]")),
                   "values[\"x\"].data[1]: the number 1e999 is too large for float64 (write \"inf\" or \"-inf\" for infinity)");
    // Was ignored: the gradient came for a grad_output of ones.
    expect_refused(run_cli({"eval", "-"}, R"({"expr": "x", "values": {"x": {"shape": [], "data": [2]}},
                                              "grad_ouput": {"shape": [], "data": [5]}})"),
                   "the request has an unknown key \"grad_ouput\" (did you mean \"grad_output\"?)");
    expect_refused(run_cli({"eval", "-"}, R"({"expr": "x", "values": {"x": {"shape": [], "dat": [2]}}})"),
                   "values[\"x\"] has an unknown key \"dat\" (did you mean \"data\"?)");
    expect_refused(run_cli({"eval", "-"}, R"({"expr": "x", "values": {"x": {"shape": [], "data": [2]}, "x": {"shape": [], "data": [3]}}})"),
                   "values has the key \"x\" twice");
    expect_refused(run_cli({"eval", "-"}, R"({"expr": "x", "values": {"x": {"shape": [], "data": [2]}}, "wrt": ["x", "x"]})"),
                   "wrt[1]: \"wrt\" names 'x' twice");
    expect_refused(run_cli({"eval", "-"}, R"({"expr": "x", "values": {"\u0001grad_output": {"shape": [], "data": [2]}}})"),
                   "is not a variable name");
    // A value that is a long array is described by its size, not printed.
    std::string long_array = "[0";
    for (int i = 1; i < 50'000; ++i) long_array += ",0";
    const auto nested = run_cli({"eval", "-"}, request_with_data("[1, " + long_array + "]]"));
    expect_refused(nested, "values[\"x\"].data[1] is an array of 50000 values, not a number");
    CHECK(nested.err.size() < 400);
    // Bad JSON quotes an excerpt of the last token, not the token.
    const auto unterminated = run_cli({"eval", "-"}, R"({"expr": ")" + std::string(100'000, 'x'));
    expect_refused(unterminated, "the request is not valid JSON");
    CHECK(unterminated.err.size() < 600);
    // The text itself is bounded by the memory limit (an endless stream ends with a message).
    expect_refused(run_cli({"eval", "-", "--memory-limit", "0.0001"}, std::string(200'000, ' ') + request_with_data("[1, 2]")),
                   "the request is larger than the memory limit of 0.0001 GiB");
    // The number of values is bounded before the document grows.
    std::string many = "[";
    for (int i = 0; i < 20'000; ++i) many += i > 0 ? ",0" : "0";
    expect_refused(run_cli({"eval", "-", "--memory-limit", "0.0001"}, R"({"expr": "x", "values": {"x": {"shape": [20000], "data": )" + many + "]}}}"),
                   "past the memory limit of 0.0001 GiB");
}

TEST_CASE("error messages quote bounded excerpts that never cut a UTF-8 character", "[cli][hostile]") {
    std::string euros;
    for (int i = 0; i < 100; ++i) euros += "\u20ac";  // 3 bytes each
    for (const std::string& expression : {"x + " + euros, euros, "x" + euros + " +", "1 + " + std::string(1, 'e') + euros,
                                          "sin(" + euros + ")"}) {
        const auto r = run_cli({"grad", expression});
        INFO(expression);
        CHECK(r.status == 2);
        CHECK(valid_utf8(r.err));
        CHECK(r.err.size() < 1000);
    }
    // A very long number or name is quoted in part.
    const auto long_number = run_cli({"grad", "x + 1e" + std::string(50'000, '9')});
    CHECK(long_number.status == 2);
    CHECK(long_number.err.size() < 1000);
    const auto long_name = run_cli({"grad", std::string(50'000, 'f') + "(x)"});
    CHECK(long_name.status == 2);
    CHECK(long_name.err.size() < 1000);
    const auto long_shape = run_cli({"grad", "x", "--shape", "x=" + std::string(50'000, '1') + "\u20ac"});
    CHECK(long_shape.status == 2);
    CHECK(valid_utf8(long_shape.err));
    CHECK(long_shape.err.size() < 1000);
}

TEST_CASE("diff with respect to a name used nowhere else is an error; the names the text uses are its variables", "[cli][hostile]") {
    expect_refused(run_cli({"grad", "diff(x, z)"}), "diff: 'z' appears nowhere else in the expression");
    // z appears elsewhere: the derivative of x in z is 0, as asked.
    CHECK(run_cli({"grad", "diff(x, z) + z"}).status == 0);
    // A second derivative that is 0 is not a misspelling.
    CHECK(run_cli({"grad", "diff(diff(x * y, x), x) + x"}).status == 0);
    // diff(x * y, y) is x, yet y is a variable the user wrote: --shape may give it a shape.
    const auto shaped = run_cli({"grad", "diff(x*y, y)", "--shape", "x=3", "--shape", "y=3"});
    INFO(shaped.err);
    CHECK(shaped.status == 0);
    const auto request = R"j({"expr": "diff(x, q)", "values": {"x": {"shape": [], "data": [2]}}})j";
    expect_refused(run_cli({"eval", "-"}, request), "diff: 'q' appears nowhere else");
}

TEST_CASE("thread counts are checked in one place: negative, huge and absurd counts are refused", "[cli][hostile]") {
    // Were SIGFPE (bench) and "internal error: Resource temporarily unavailable" (train, predict).
    for (const std::string count : {"-1", "5000"}) {
        expect_refused(run_cli({"bench", "x", "--threads", count, "--repeat", "1"}), "--threads " + count + ": choose 0");
        expect_refused(run_cli({"train", "--threads", count, "--epochs", "1"}), "--threads " + count + ": choose 0");
        expect_refused(run_cli({"predict", "/nonexistent.safetensors", "--threads", count}), "--threads " + count + ": choose 0");
    }
    const auto huge = run_cli({"bench", "x", "--threads", "18446744073709551615"});
    CHECK(huge.status == 2);
    // Options that were silently ignored.
    CHECK(run_cli({"predict", "/nonexistent.safetensors", "--examples", "-1"}).status == 2);
    CHECK(run_cli({"predict", "/nonexistent.safetensors", "--seed", "-1"}).status == 2);
    expect_refused(run_cli({"train", "--clip", "nan", "--epochs", "1", "--examples", "100"}), "clipping norm must be >= 0");
    expect_refused(run_cli({"train", "--momentum", "nan", "--optimizer", "sgd", "--epochs", "1", "--examples", "100"}), "momentum");
}

TEST_CASE("output that does not reach stdout is a failure, not exit 0", "[cli][hostile]") {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"export", "x * sigmoid(x)", "--to", "cpp"},
             {"grad", "x * sigmoid(x)"},
             {"list"},
             {"graph", "x * sigmoid(x)"},
             {"plot", "x * sigmoid(x)"},
             {"check", "x * sigmoid(x)"},
             {"eval", "-"}}) {
        CliEnv env;
        env.stdout_to = "/dev/full";
        env.input = R"({"expr": "x", "values": {"x": {"shape": [], "data": [2]}}})";
        const auto r = run_cli_with(args, env);
        INFO(args[0]);
        INFO(r.err);
        CHECK(r.status == 2);
        CHECK(r.err.find("writing to standard output failed: No space left on device") != std::string::npos);
    }
}

TEST_CASE("files are written whole or not at all; output paths are checked before the work", "[cli][hostile]") {
    TempDir dir;
    const std::string target = dir.file("swish.hpp");
    std::string long_sum = "x";  // a graph whose DOT text is more than the disk below takes
    for (int i = 1; i < 40; ++i) long_sum += fmt::format(" + sin({} * x)", i);
    std::ofstream(target) << "the old file\n";
    // A disk that fills up after 512 bytes: the old file stays, no temporary is left, the exit status says so.
    CliEnv small_disk;
    small_disk.file_size_limit = 512;
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"export", "x * sigmoid(x)", "--to", "cpp", "-o", target},
             {"plot", "x * sigmoid(x)", "-o", target},
             {"graph", long_sum, "-o", target}}) {
        const auto r = run_cli_with(args, small_disk);
        INFO(args[0]);
        INFO(r.err);
        CHECK(r.status == 2);
        CHECK(r.err.find("cannot write '" + target + "'") != std::string::npos);
        CHECK(slurp(target) == "the old file\n");
        CHECK(dir.entries() == std::vector<std::string>{"swish.hpp"});
    }
    // Without the limit the same command replaces it.
    CHECK(run_cli({"export", "x * sigmoid(x)", "--to", "cpp", "-o", target}).status == 0);
    CHECK(slurp(target).find("y = x * sigmoid(x)") != std::string::npos);
    CHECK(dir.entries() == std::vector<std::string>{"swish.hpp"});

    // Paths that cannot be written are refused before training (was: after the whole run).
    expect_refused(run_cli({"train", "--epochs", "100000", "-o", dir.path}), "-o '" + dir.path + "' is a directory");
    expect_refused(run_cli({"train", "--epochs", "100000", "--plot", dir.file("missing/curves.svg")}),
                   "--plot '" + dir.file("missing/curves.svg") + "': the directory '" + dir.file("missing") + "' does not exist");
    expect_refused(run_cli({"train", "--epochs", "100000", "--data", "spirals", "--boundary", dir.path}), "is a directory");
    expect_refused(run_cli({"export", "x", "--to", "cpp", "-o", dir.file("no/such.hpp")}), "does not exist");
    // A device is written in place, never replaced by a regular file.
    const auto device = run_cli({"export", "x", "--to", "cpp", "-o", "/dev/full"});
    CHECK(device.status == 2);
    CHECK(device.err.find("No space left on device") != std::string::npos);
    struct stat info {};
    REQUIRE(stat("/dev/full", &info) == 0);
    CHECK(S_ISCHR(info.st_mode));
}

TEST_CASE("trace shows grad's own sweep: the where-mask acts where grad applies it, and no NaN contradicts the total", "[cli][hostile]") {
    // Was: "x += adjoint * dv2/dx = -nan" followed by "dy/dx = 0".
    const auto r = run_cli({"trace", "where(x > 0, sqrt(x), 0)", "--at", "x=0"});
    INFO(r.out);
    CHECK(r.status == 0);
    CHECK(r.out.find("nan") == std::string::npos);
    CHECK(r.out.find("dv2/dx = 1 / (2 * v2) = inf") != std::string::npos);
    CHECK(r.out.find("x += adjoint * dv2/dx, only where where() selected this branch (mask 0) = 0") != std::string::npos);
    CHECK(r.out.ends_with("dy/dx = 0\n"));
    // Where the branch is selected, the mask is 1 and the product is the plain chain rule.
    const auto selected = run_cli({"trace", "where(x > 0, sqrt(x), 0)", "--at", "x=4"});
    CHECK(selected.out.find("(mask 1) = 0.25") != std::string::npos);
    CHECK(selected.out.ends_with("dy/dx = 0.25\n"));
}
