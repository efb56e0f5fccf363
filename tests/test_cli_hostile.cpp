// The symgrad executable given hostile or odd input, as issue 13 found it: each case here once crashed, hung,
// answered exit 1 ("internal error"), lost data or gave a silent wrong answer. Now: exit 2 with a one-line message
// that names the problem, or success.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

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

std::string request_with_data(const std::string& data) { return R"({"expr": "x", "values": {"x": {"shape": [2], "data": )" + data + "}}}"; }

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
    expect_refused(
        run_cli({"eval", "-", "--memory-limit", "0.0001"}, R"({"expr": "x", "values": {"x": {"shape": [20000], "data": )" + many + "]}}}"),
        "past the memory limit of 0.0001 GiB");
}

TEST_CASE("error messages quote bounded excerpts that never cut a UTF-8 character", "[cli][hostile]") {
    std::string euros;
    for (int i = 0; i < 100; ++i) euros += "\u20ac";  // 3 bytes each
    for (const std::string& expression :
         {"x + " + euros, euros, "x" + euros + " +", "1 + " + std::string(1, 'e') + euros, "sin(" + euros + ")"}) {
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
    // Was "terminate called without an active exception" (exit 134): the system would not start 600 threads.
#if !defined(__SANITIZE_ADDRESS__)  // ASan reserves terabytes of address space: it cannot run under such a limit
    CliEnv small_machine;
    small_machine.address_space_limit = 4L << 30;
    const auto many = run_cli_with({"bench", "x * sigmoid(x)", "--shape", "x=1000", "--threads", "600", "--repeat", "3"}, small_machine);
    INFO(many.err);
    CHECK(many.status == 0);
#endif
    // Options that were silently ignored.
    CHECK(run_cli({"predict", "/nonexistent.safetensors", "--examples", "-1"}).status == 2);
    CHECK(run_cli({"predict", "/nonexistent.safetensors", "--seed", "-1"}).status == 2);
    CHECK(run_cli({"train", "--seed", "-1", "--epochs", "1"}).status == 2);  // was read as 2^64 - 1
    CHECK(run_cli({"check", "x", "--seed", "-1"}).status == 2);
    expect_refused(run_cli({"predict", "/tmp"}), "cannot read '/tmp': it is a directory");
    expect_refused(run_cli({"train", "--clip", "nan", "--epochs", "1", "--examples", "100"}), "clipping norm must be >= 0");
    expect_refused(run_cli({"train", "--momentum", "nan", "--optimizer", "sgd", "--epochs", "1", "--examples", "100"}), "momentum");
}

TEST_CASE("output that does not reach stdout is a failure, not exit 0", "[cli][hostile]") {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{{"export", "x * sigmoid(x)", "--to", "cpp"},
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
    // train and predict too.
    TempDir dir;
    const std::string model = dir.file("m.safetensors");
    REQUIRE(run_cli({"train", "--epochs", "1", "--examples", "100", "--hidden", "4", "-o", model}).status == 0);
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"train", "--epochs", "1", "--examples", "100", "--hidden", "4"}, {"predict", model}}) {
        CliEnv env;
        env.stdout_to = "/dev/full";
        const auto r = run_cli_with(args, env);
        INFO(args[0]);
        CHECK(r.status == 2);
        CHECK(r.err.find("writing to standard output failed") != std::string::npos);
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
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"export", "x * sigmoid(x)", "--to", "cpp", "-o", target},
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
    // train's curves and regions too (the training itself writes nothing).
    for (const std::string flag : {"--plot", "--boundary"}) {
        const auto r = run_cli_with({"train", "--epochs", "2", "--examples", "100", "--hidden", "4", flag, target}, small_disk);
        INFO(flag);
        CHECK(r.status == 2);
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

namespace {

// A two-feature CSV (columns a, b, then the label) that a small MLP learns perfectly: label = a + 0.2 b > 0.
std::string separable_csv(const std::string& header, const std::function<std::string(int, int)>& label_text, bool swap = false) {
    std::string text = header + "\n";
    std::uint64_t state = 12345;
    auto uniform = [&] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<double>(state >> 11) / 9007199254740992.0 * 4.0 - 2.0;
    };
    for (int i = 0; i < 300; ++i) {
        const double a = uniform();
        const double b = uniform();
        const int label = a + 0.2 * b > 0 ? 1 : 0;
        text += swap ? fmt::format("{},{},{}\n", b, a, label_text(i, label)) : fmt::format("{},{},{}\n", a, b, label_text(i, label));
    }
    return text;
}

}  // namespace

TEST_CASE("CSV labels follow one rule; NaN labels, byte-order marks and endless lines are handled", "[cli][hostile]") {
    TempDir dir;
    // Was "212 classes": 0, 1, 0.0 and 1.0 are two numbers.
    const std::string mixed_spelling = dir.file("spelling.csv");
    std::ofstream(mixed_spelling) << separable_csv("a,b,label",
                                                   [](int i, int l) { return i % 2 ? std::to_string(l) : fmt::format("{}.0", l); });
    const auto two = run_cli({"train", "--data", mixed_spelling, "--target", "label", "--epochs", "1", "--hidden", "4"});
    INFO(two.err);
    CHECK(two.status == 0);
    CHECK(two.out.find("2 classes") != std::string::npos);
    // Was 4 classes: a NaN label is a missing value, an error with its line.
    const std::string with_nan = dir.file("nan.csv");
    std::ofstream(with_nan) << separable_csv("a,b,label", [](int i, int l) { return i == 7 ? std::string("nan") : std::to_string(l); });
    expect_refused(run_cli({"train", "--data", with_nan, "--target", "label", "--epochs", "1"}),
                   with_nan + ":9: the target 'label' is 'nan', a missing value rather than a class");
    // Was 86 classes: words and numbers mixed are words, six of them.
    const std::string words = dir.file("words.csv");
    std::ofstream(words) << separable_csv("a,b,label", [](int i, int) {
        const char* labels[] = {"2", "10", "1a", "x", "b", "3"};
        return std::string(labels[i % 6]);
    });
    const auto six = run_cli({"train", "--data", words, "--target", "label", "--epochs", "1", "--hidden", "4"});
    CHECK(six.status == 0);
    CHECK(six.out.find("6 classes") != std::string::npos);
    // Was: no column 'label' (the columns are \ufefflabel, ...).
    const std::string bom = dir.file("bom.csv");
    std::ofstream(bom) << "\xEF\xBB\xBF" << separable_csv("a,b,label", [](int, int l) { return std::to_string(l); });
    CHECK(run_cli({"train", "--data", bom, "--target", "a", "--epochs", "1", "--hidden", "4", "--examples", "10"}).status == 0);
    // A line of 3 MiB: an error with its line, not an internal error (or all memory for a 1 GB line).
    const std::string endless = dir.file("endless.csv");
    std::ofstream(endless) << "a,label\n" << std::string(3 << 20, '1') << ",0\n";
    expect_refused(run_cli({"train", "--data", endless, "--target", "label", "--epochs", "1"}), endless + ":2: the line is longer than");
}

TEST_CASE("predict matches a CSV's columns by name; forged model metadata is refused before building", "[cli][hostile]") {
    TempDir dir;
    const std::string data = dir.file("data.csv");
    std::ofstream(data) << separable_csv("a,b,label", [](int, int l) { return std::to_string(l); });
    const std::string model = dir.file("model.safetensors");
    const auto trained = run_cli({"train", "--data", data, "--target", "label", "--epochs", "40", "--hidden", "8", "-o", model});
    REQUIRE(trained.status == 0);
    const auto same = run_cli({"predict", model, "--data", data, "--target", "label"});
    REQUIRE(same.status == 0);
    const std::string accuracy = same.out.substr(same.out.find("test accuracy"));
    // The same examples with the feature columns swapped (was: 99.5% -> 50.5%, exit 0).
    const std::string swapped = dir.file("swapped.csv");
    std::ofstream(swapped) << separable_csv(
        "b,a,label", [](int, int l) { return std::to_string(l); }, true);
    const auto matched = run_cli({"predict", model, "--data", swapped, "--target", "label"});
    INFO(matched.err);
    CHECK(matched.status == 0);
    CHECK(matched.out.substr(matched.out.find("test accuracy")) == accuracy);
    // A column the model needs is missing.
    const std::string missing = dir.file("missing.csv");
    std::ofstream(missing) << "b,c,label\n1,2,0\n3,4,1\n";
    expect_refused(run_cli({"predict", model, "--data", missing, "--target", "label"}),
                   missing + " has no column 'a', which '" + model + "' was trained on (it reads a, b; the file has b, c)");
    // A class the model does not know.
    const std::string new_class = dir.file("new_class.csv");
    std::ofstream(new_class) << "a,b,label\n1,2,0\n3,4,7\n";
    expect_refused(run_cli({"predict", model, "--data", new_class, "--target", "label"}), "has the class '7', which");

    // Forged metadata: were "internal error" (or all memory) when the model was built from it.
    auto forged = [&](const std::string& key, const std::string& value) {
        auto checkpoint = symgrad::io::load_safetensors(model);
        checkpoint.metadata[key] = value;
        const std::string path = dir.file("forged.safetensors");
        symgrad::io::save_safetensors(path, checkpoint);
        return run_cli({"predict", path});
    };
    expect_refused(forged("model.hidden", "65536,65536,65536"), "does not fit its tensors");
    expect_refused(forged("model.classes", "99999999999"), "'model.classes' is 99999999999, not a whole number from 2 to 1000");
    expect_refused(forged("model.hidden", "-3"), "'model.hidden' is -3, not a whole number");
    expect_refused(forged("model.inputs", "nan"), "'model.inputs' is nan");
    expect_refused(forged("data.features", "a,b,c"), "names 3 features but the model takes 2");
    // Were read as float32 and as kaiming without a word: a name the file does not know is refused, with the file, the
    // field and the names it takes.
    const std::string forged_path = dir.file("forged.safetensors");
    expect_refused(forged("model.dtype", "float16"), "'" + forged_path + "' metadata 'model.dtype' is 'float16', not float32 or float64");
    expect_refused(forged("model.dtype", ""), "'" + forged_path + "' metadata 'model.dtype' is '', not float32 or float64");
    expect_refused(forged("model.weight_init", "he"), "'" + forged_path + "' metadata 'model.weight_init' is 'he', not kaiming or xavier");
    // The names written are the names read: float64 and xavier survive the round trip.
    const std::string exact = dir.file("float64_xavier.safetensors");
    REQUIRE(run_cli({"train", "--data", data, "--target", "label", "--epochs", "2", "--hidden", "4", "--dtype", "float64", "--weights",
                     "xavier", "-o", exact})
                .status == 0);
    const auto metadata = symgrad::io::load_safetensors(exact).metadata;
    CHECK(metadata.at("model.dtype") == "float64");
    CHECK(metadata.at("model.weight_init") == "xavier");
    const auto resumed = run_cli({"train", "--resume", exact, "--epochs", "3"});
    INFO(resumed.err);
    CHECK(resumed.status == 0);
    CHECK(resumed.out.find(", float64\n") != std::string::npos);
}

TEST_CASE("one rule for repeated options; generated names never take a variable's; odd numbers and dashes", "[cli][hostile]") {
    // Were: one curve labelled with both values; the last --at silently kept; --wrt x,x twice.
    expect_refused(run_cli({"plot", "x * sigmoid(beta * x)", "--param", "beta=0.5", "--param", "beta=2"}), "--param gives 'beta' twice");
    expect_refused(run_cli({"trace", "x", "--at", "x=1", "--at", "x=2"}), "--at gives 'x' twice");
    expect_refused(run_cli({"grad", "x * y", "--wrt", "x,x"}), "--wrt gives 'x' twice");
    expect_refused(
        run_cli({"train", "--act", "x * sigmoid(beta * x)", "--param", "beta=shared:1", "--param", "beta=shared:2", "--epochs", "1"}),
        "--param gives 'beta' twice");
    // Was "--param beta is given twice", worded apart from the rest.
    expect_refused(run_cli({"export", "x * sigmoid(beta * x)", "--to", "torch", "--param", "beta=shared:1", "--param", "beta=shared:2"}),
                   "--param gives 'beta' twice");
    // Was t_{1} = σ(t_1·t_2): the LaTeX temporaries skip the user's t1 and t2.
    const auto latex = run_cli({"grad", "t1 * sigmoid(t2 * t1)", "--latex"});
    CHECK(latex.status == 0);
    CHECK(latex.out.find("t_{3} &= \\sigma") != std::string::npos);
    CHECK(latex.out.find("t_{1} &=") == std::string::npos);
    // Was "v1 = y * v1" and "dy/dy = 3".
    const auto trace = run_cli({"trace", "y * v1 + v2", "--at", "y=1", "--at", "v1=2", "--at", "v2=3"});
    CHECK(trace.status == 0);
    CHECK(trace.out.find("v3 = y * v1") != std::string::npos);
    CHECK(trace.out.find("dy_/dy = 2\n") != std::string::npos);
    // Was "expr is required" alone.
    const auto dash = run_cli({"grad", "-x"});
    CHECK(dash.status == 2);
    CHECK(dash.err.find("(an expression that starts with '-' goes in parentheses: symgrad grad '(-x)')") != std::string::npos);
    CHECK(run_cli({"grad", "(-x)"}).out == "dx = -1\n");
    // A negative number is a value to CLI11, not an option: the unquoted expression is what is wrong.
    const auto unquoted = run_cli({"grad", "-2*x", "+", "x"});
    CHECK(unquoted.status == 2);
    CHECK(unquoted.err.find("has no option") == std::string::npos);
    CHECK(run_cli({"grad", "--", "-x"}).out == "dx = -1\n");
    // Was refused while the language reads 1e-999 as 0.
    const auto tiny = run_cli({"trace", "x", "--at", "x=1e-999"});
    CHECK(tiny.status == 0);
    expect_refused(run_cli({"trace", "x", "--at", "x=1e999"}), "'1e999' is too large for float64");
    // Was a 309-digit range.
    const auto repeat = run_cli({"bench", "x", "--repeat", "0"});
    CHECK(repeat.status == 2);
    CHECK(repeat.err.find("--repeat: '0' is not a whole number from 1 to 1000000") != std::string::npos);
    CHECK(repeat.err.size() < 200);
    // NaN's sign bit is not printed.
    const auto nan = run_cli({"trace", "log(x)", "--at", "x=-1"});
    CHECK(nan.out.find("-nan") == std::string::npos);
    CHECK(nan.out.find("= nan") != std::string::npos);
}

TEST_CASE("check and trace refuse work and memory they cannot finish before starting it", "[cli][hostile]") {
    // Was still running after 60 s.
    expect_refused(run_cli({"check", "x * y", "--shape", "x=5000,1", "--shape", "y=1,5000"}), "element operations, more than");
    // Was an internal error (3000^3 elements).
    expect_refused(run_cli({"check", "x * y * z", "--shape", "x=3000,1,1", "--shape", "y=1,3000,1", "--shape", "z=1,1,3000"}),
                   "past the memory limit of 4 GiB");
    // Was 3.1 GB, then "out of memory", exit 1.
    std::string values = "x=";
    for (int i = 0; i < 20000; ++i) values += i > 0 ? ",1" : "1";
    std::string y_values = "y" + values.substr(1);
    expect_refused(run_cli({"trace", "x * y", "--shape", "x=20000,1", "--shape", "y=1,20000", "--at", values, "--at", y_values}),
                   "past the memory limit of 4 GiB");
    CHECK(run_cli({"check", "x * y", "--shape", "x=5,1", "--shape", "y=1,5"}).status == 0);
    // A memory limit that is not a number is refused (was accepted: every comparison with NaN is false).
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"eval", "-", "--memory-limit", "nan"},
                                               {"check", "x", "--memory-limit", "nan"},
                                               {"trace", "x", "--at", "x=1", "--memory-limit", "nan"},
                                               {"bench", "x", "--memory-limit", "nan"},
                                               {"train", "--memory-limit", "nan"},
                                               {"eval", "-", "--memory-limit", "-1"}}) {
        const auto r = run_cli(args, "{}");
        INFO(args[0]);
        CHECK(r.status == 2);
        CHECK(r.err.find("--memory-limit: '") != std::string::npos);
    }
    // A parameter shape that cannot fit one example is refused before the data is made.
    expect_refused(run_cli({"train", "--act", "x * y", "--param", "y=[1,1,1,8]:1", "--epochs", "1"}),
                   "parameter 'y' has shape [1, 1, 1, 8], which does not broadcast against one example of shape [64]");
    // Was 22 GB and climbing: the model is estimated before it is built.
    expect_refused(run_cli({"train", "--hidden", "65536,65536", "--epochs", "1"}),
                   "training an MLP 2-65536-65536-3 on batches of 64 would hold about 80.8 GiB, past the memory limit of 4 GiB");
    // A batch larger than the data is the data.
    CHECK(run_cli({"train", "--batch", "100000000", "--epochs", "1", "--hidden", "4", "--examples", "100"}).status == 0);
}

TEST_CASE("plot refuses expressions that mix points; graph caps what Graphviz must lay out", "[cli][hostile]") {
    // Were accepted: f was softmax over the sample points and df/dx was drawn as 0.
    expect_refused(run_cli({"plot", "softmax(x)"}), "plot draws elementwise expressions, and 'softmax(x)' uses");
    expect_refused(run_cli({"plot", "x - mean(x)"}), "uses mean, which mixes the values of different points");
    CHECK(run_cli({"plot", "x * sigmoid(beta * x)", "--param", "beta=1,2"}).status == 0);
    // Was minutes of Graphviz: a wide graph is refused before dot runs (--format dot still prints it).
    std::string wide = "sin(x)";
    for (int k = 2; k < 100; ++k) wide += fmt::format(" + sin({} * x)", k);
    expect_refused(run_cli({"graph", wide, "--format", "svg"}), "Graphviz lays out at most 250 in reasonable time");
    CHECK(run_cli({"graph", wide}).status == 0);
}

TEST_CASE("exported modules refuse parameter names that would break them", "[cli][hostile]") {
    // Were a KeyError on construction (torch) or a header that does not compile (C++).
    for (const std::string name :
         {"forward", "training", "float", "to", "cuda", "half", "apply", "parameters", "state_dict", "extra_repr"}) {
        const auto r = run_cli({"export", "x * " + name, "--to", "torch", "--param", name + "=shared:1"});
        INFO(name);
        CHECK(r.status == 2);
        CHECK(r.err.find("'" + name + "' is a name the generated Python file uses itself") != std::string::npos);
    }
    for (const std::string name : {"bitand", "compl", "not_eq", "NULL", "NAN", "INFINITY"}) {
        const auto r = run_cli({"export", "x * " + name, "--to", "cpp", "--param", name + "=shared:1"});
        INFO(name);
        CHECK(r.status == 2);
        CHECK(r.err.find("'" + name + "' is a name the generated C++ header uses itself") != std::string::npos);
    }
}

TEST_CASE("SIGINT while a checkpoint is being written leaves no temporary and no broken file", "[cli][hostile]") {
    TempDir dir;
    const std::string model = dir.file("big.safetensors");
    // 16.8 M weights and Adam's two moments: about 200 MB to write, long enough to be interrupted in the middle.
    const pid_t pid = fork();
    if (pid == 0) {
        const int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(SYMGRAD_CLI_PATH, SYMGRAD_CLI_PATH, "train", "--hidden", "4096,4096", "--epochs", "1", "--examples", "10", "-o",
              model.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    bool interrupted = false;
    for (int i = 0; i < 200'000 && !interrupted; ++i) {  // up to about 200 s
        for (const auto& name : dir.entries()) {
            if (name.starts_with("big.safetensors.tmp.")) {
                kill(pid, SIGINT);
                interrupted = true;
            }
        }
        if (!interrupted) usleep(1000);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(interrupted);
    // Either the signal ended it during the write (the usual case), or the write had just finished.
    if (WIFSIGNALED(status)) {
        CHECK(WTERMSIG(status) == SIGINT);
        CHECK(dir.entries().empty());
    } else {
        CHECK(dir.entries() == std::vector<std::string>{"big.safetensors"});
    }
}

TEST_CASE("graph --grad simplifies the forward and its gradients together: shared parts stay one node", "[cli][hostile]") {
    // Was: the simplifier reordered p2 * x + b1 in the gradient only, and the picture drew the chain twice.
    const auto r = run_cli({"graph", "p1 * sigmoid(p2 * x + b1) + b2", "--grad"});
    REQUIRE(r.status == 0);
    std::size_t sigmoids = 0;
    for (std::size_t at = r.out.find("sigmoid\""); at != std::string::npos; at = r.out.find("sigmoid\"", at + 1)) ++sigmoids;
    CHECK(sigmoids == 1);  // "dp1 = sigmoid": the gradient of p1 is the forward's own sigmoid node
    CHECK(r.out.find("[label=\"add\"") == r.out.rfind("[label=\"add\""));  // p2 * x + b1, once
    // The raw sweep's graph shares its forward nodes by construction.
    const auto raw = run_cli({"graph", "p1 * sigmoid(p2 * x + b1) + b2", "--grad", "--raw"});
    CHECK(raw.out.find("sigmoid\"") == raw.out.rfind("sigmoid\""));
}
