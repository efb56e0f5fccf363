// Replays files through the fuzz target without libFuzzer, so the seed corpus and every input the fuzzer
// ever crashed on (tests/fuzz/regressions) run in the ordinary test suite. `--random N` also runs N random inputs
// (a short fuzz run, the same inputs every time: seeded with --seed S, default 1).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    std::size_t count = 0;
    std::size_t random_inputs = 0;
    std::uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if ((arg == "--random" || arg == "--seed") && i + 1 < argc) {
            (arg == "--random" ? random_inputs : seed) = std::stoull(argv[++i]);
            continue;
        }
        for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
            std::ifstream in(entry.path(), std::ios::binary);
            const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
            ++count;
        }
    }
    std::mt19937_64 random(seed);
    for (std::size_t k = 0; k < random_inputs; ++k) {
        std::string bytes(8 + random() % 89, '\0');
        for (char& c : bytes) c = static_cast<char>(random() & 0xff);
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        ++count;
    }
    std::printf("replayed %zu inputs\n", count);
    return count > 0 ? 0 : 1;
}
